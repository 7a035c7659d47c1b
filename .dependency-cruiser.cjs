/**
 * Dependency rules (STYLE.md): app → feature libs → core libs, no cycles, libs reached only through their index.
 * Core libs: config, database, store, common, metrics (the registry and metric definitions only). Feature-to-feature edges allowed: routing → providers, rate-limit → auth.
 */
const CORE = '(config|database|store|common|metrics)';
const FEATURE = '(auth|providers|routing|usage|rate-limit|health)';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'libs-never-import-apps',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'apps-are-independent',
      comment: 'the gateway and the emulator share nothing but HTTP',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'core-libs-never-import-feature-libs',
      severity: 'error',
      from: { path: `^libs/${CORE}/` },
      to: { path: `^libs/${FEATURE}/` },
    },
    {
      name: 'feature-libs-only-allowed-edges',
      comment: 'routing → providers and rate-limit → auth are the only feature-to-feature edges',
      severity: 'error',
      from: { path: `^libs/${FEATURE}/`, pathNot: '^libs/(routing|rate-limit)/' },
      to: { path: `^libs/${FEATURE}/`, pathNot: '^libs/$1/' },
    },
    {
      name: 'routing-only-to-providers',
      severity: 'error',
      from: { path: '^libs/routing/' },
      to: { path: `^libs/${FEATURE}/`, pathNot: '^libs/(routing|providers)/' },
    },
    {
      name: 'rate-limit-only-to-auth',
      severity: 'error',
      from: { path: '^libs/rate-limit/' },
      to: { path: `^libs/${FEATURE}/`, pathNot: '^libs/(rate-limit|auth)/' },
    },
    {
      name: 'libs-only-through-their-index',
      comment: 'import another lib as @xrouter/<lib>, never a file inside it',
      severity: 'error',
      from: { path: '^libs/([^/]+)/' },
      to: { path: '^libs/[^/]+/src/', pathNot: ['^libs/$1/', '^libs/[^/]+/src/index\\.ts$'] },
    },
    {
      name: 'apps-use-libs-through-their-index',
      severity: 'error',
      from: { path: '^apps/' },
      to: { path: '^libs/[^/]+/src/', pathNot: '^libs/[^/]+/src/index\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^dist/|\\.spec\\.ts$)' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
