export const IS_PUBLIC = 'xrouter:public';
export const AUTH_REQUIREMENTS = 'xrouter:auth-requirements';
/** Store channel on which a revoked credential's hash is announced to every replica. */
export const CREDENTIAL_INVALIDATION_CHANNEL = 'auth:credential-invalidated';
