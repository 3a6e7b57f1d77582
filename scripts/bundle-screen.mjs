// Bundles the review screen (dist/ui/review/screen.js with ink, React and their dependencies)
// into one module, dist/ui/review/screen.bundle.js: Node loads one file much faster than the
// few hundred small modules ink and its dependencies are made of, so the screen draws sooner.
// `wharf apply` loads the bundle when it exists, the modules otherwise (src/cli/main.ts).
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/ui/review/screen.js'],
  outfile: 'dist/ui/review/screen.bundle.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // React's production build, as loadScreen() asks for.
  define: { 'process.env.NODE_ENV': '"production"' },
  // CommonJS dependencies that require() Node's own modules.
  banner: {
    js: "import { createRequire as __wharfRequire } from 'node:module'; const require = __wharfRequire(import.meta.url);",
  },
  // ink loads React's devtools only when DEV=true, and they are not installed: an empty module.
  plugins: [
    {
      name: 'no-devtools',
      setup(b) {
        b.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: 'devtools', namespace: 'stub' }));
        b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({ contents: 'export default {};' }));
      },
    },
    {
      // wharf's own modules outside the screen's folder stay outside the bundle (one copy of
      // each in the program); the bundle sits next to screen.js, so their paths hold.
      name: 'wharf-modules-outside',
      setup(b) {
        b.onResolve({ filter: /^\.\.\/\.\.\// }, (args) =>
          args.importer.includes('/dist/ui/review/') ? { path: args.path, external: true } : undefined,
        );
      },
    },
  ],
  logLevel: 'warning',
  legalComments: 'none',
});
