/** Injection token of the ModelCatalog built from the routing config. */
export const MODEL_CATALOG = Symbol('MODEL_CATALOG');
