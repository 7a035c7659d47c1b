/** Injection token of the application's {@link Store}. */
export const STORE = Symbol('STORE');

/** Injection token of the resolved `StoreModuleOptions` (internal to the module). */
export const STORE_MODULE_OPTIONS = Symbol('STORE_MODULE_OPTIONS');

/** Prefix of every key and channel the gateway writes, unless configured otherwise. */
export const DEFAULT_STORE_KEY_PREFIX = 'xr:';
