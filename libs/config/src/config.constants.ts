/** Injection token of the validated RoutingConfig (the YAML file, after interpolation and emulator overrides). */
export const ROUTING_CONFIG = Symbol('ROUTING_CONFIG');
