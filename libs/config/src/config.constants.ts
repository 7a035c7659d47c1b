/** Injection token of the validated RoutingConfig (the YAML file, after interpolation and emulator overrides). */
export const ROUTING_CONFIG = Symbol('ROUTING_CONFIG');

/** The port the gateway listens on when PORT is unset. */
export const DEFAULT_PORT = 8080;
