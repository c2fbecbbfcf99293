/**
 * Builds the publishable packages from the one source in src/:
 *   packages/client/dist  ← src/client (`@tally/client`, `@tally/client/react`)
 *   packages/tokens/dist  ← src/auth/create-browser-token.ts (`@tally/tokens`)
 * JavaScript: esbuild, ESM, not minified (the app's bundler does that). Declarations:
 * tsc, then rollup-plugin-dts inlines our own types, so the published .d.ts import only
 * @trpc/client, @trpc/server, react and jose. The build fails if anything else is left.
 * `--pack` then writes the tarballs into dist/packages/. `--sizes` prints bundle sizes.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type PluginBuild } from 'esbuild';
import { rollup, type Plugin } from 'rollup';
import { dts } from 'rollup-plugin-dts';
import { measureBundleSizes, printBundleSizes } from './client-bundle-sizes.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ALLOWED_IMPORTS: Record<string, readonly string[]> = {
  client: ['@trpc/client', '@trpc/server', 'react', './index.js'],
  tokens: ['jose'],
};

/** react.ts imports './index.ts': in the package that is the sibling entry, not a copy. */
const reactEntryImportsIndex = {
  name: 'index-as-sibling',
  setup(b: PluginBuild) {
    b.onResolve({ filter: /^\.\/index(\.ts)?$/ }, (args) =>
      args.importer.endsWith(`${path.sep}react.ts`) ? { path: './index.js', external: true } : undefined,
    );
  },
};

async function buildJs(clientDist: string, tokensDist: string): Promise<void> {
  const common = { bundle: true, format: 'esm', target: 'es2022', logLevel: 'warning' } as const;
  await build({
    ...common,
    entryPoints: { index: 'src/client/index.ts', react: 'src/client/react.ts' },
    outdir: clientDist,
    platform: 'neutral',
    external: ['@trpc/client', 'react'],
    plugins: [reactEntryImportsIndex],
  });
  await build({
    ...common,
    entryPoints: { index: 'packages/tokens/index.ts' },
    outdir: tokensDist,
    platform: 'node',
    external: ['jose'],
  });
}

/** tsc writes declarations with `.ts` specifiers; point them at the emitted `.d.ts`. */
function tsSpecifiersToDts(): Plugin {
  return {
    name: 'ts-specifiers-to-dts',
    resolveId(source, importer) {
      if (!importer || !source.startsWith('.') || !source.endsWith('.ts') || source.endsWith('.d.ts'))
        return null;
      return path.resolve(path.dirname(importer), source.replace(/\.ts$/, '.d.ts'));
    },
  };
}

async function buildDts(clientDist: string, tokensDist: string): Promise<void> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'tally-dts-'));
  try {
    const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', 'packages/tsconfig.dts.json', '--outDir', tmp], {
      cwd: root,
      stdio: 'inherit',
    });
    const bundles = [
      {
        name: 'client',
        input: 'src/client/index.d.ts',
        out: path.join(clientDist, 'index.d.ts'),
        external: [],
      },
      {
        name: 'client',
        input: 'src/client/react.d.ts',
        out: path.join(clientDist, 'react.d.ts'),
        external: [path.join(tmp, 'src/client/index.d.ts')],
      },
      {
        name: 'tokens',
        input: 'packages/tokens/index.d.ts',
        out: path.join(tokensDist, 'index.d.ts'),
        external: [],
      },
    ];
    for (const b of bundles) {
      const bundle = await rollup({
        input: path.join(tmp, b.input),
        plugins: [tsSpecifiersToDts(), dts({ respectExternal: false })],
        external: (id) => (!id.startsWith('.') && !path.isAbsolute(id) ? true : b.external.includes(id)),
      });
      const { output } = await bundle.generate({
        format: 'es',
        paths: (id) => (b.external.includes(id) ? './index.js' : id),
      });
      await bundle.close();
      // tRPC v11's own declarations name `Disposable`/`AsyncDisposable`, which Vite's stock
      // `lib: ["ES2022", …]` lacks: with skipLibCheck off that fails in every consumer of
      // @trpc/client. The lib reference brings those two globals in, as @types/node does.
      const code =
        b.name === 'client' ? `/// <reference lib="esnext.disposable" />\n${output[0].code}` : output[0].code;
      checkImports(b.name, b.out, code);
      await writeFile(b.out, code);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Every import left in a published declaration must be one a consumer has installed. */
function checkImports(pkg: string, file: string, code: string): void {
  const specifiers = [...code.matchAll(/(?:from\s+|import\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? '');
  const allowed = ALLOWED_IMPORTS[pkg] ?? [];
  const leaked = specifiers.filter((s) => !allowed.some((a) => s === a || s.startsWith(`${a}/`)));
  if (leaked.length > 0 || /\bNodeJS\./.test(code)) {
    throw new Error(
      `${path.relative(root, file)} would import ${[...new Set(leaked)].join(', ') || 'NodeJS types'}; ` +
        'a consumer does not have these. Keep server types out of the client graph.',
    );
  }
}

async function pack(stage: string, destination: string): Promise<string[]> {
  await mkdir(destination, { recursive: true });
  const files: string[] = [];
  for (const name of ['client', 'tokens']) {
    const json = execFileSync('npm', ['pack', '--json', '--pack-destination', destination], {
      cwd: path.join(stage, name),
      encoding: 'utf8',
    });
    const [info] = JSON.parse(json) as { filename: string }[];
    if (info) files.push(path.join(destination, info.filename));
  }
  return files;
}

export interface BuildOptions {
  /**
   * Where the package folders (client/, tokens/) are built: default packages/. Tests build
   * into their own temporary folder, so two test files never share a dist/.
   */
  stage?: string;
  /** Write the tarballs here (npm run pack:client: dist/packages). */
  packTo?: string;
}

/** Builds both packages; returns the tarballs' paths when `packTo` is given. */
export async function buildClientPackages(opts: BuildOptions = {}): Promise<string[]> {
  const stage = opts.stage ?? path.join(root, 'packages');
  for (const name of ['client', 'tokens']) {
    await rm(path.join(stage, name, 'dist'), { recursive: true, force: true });
    await mkdir(path.join(stage, name), { recursive: true });
    if (stage !== path.join(root, 'packages'))
      await cp(path.join(root, 'packages', name, 'package.json'), path.join(stage, name, 'package.json'));
  }
  const clientDist = path.join(stage, 'client/dist');
  const tokensDist = path.join(stage, 'tokens/dist');
  await buildJs(clientDist, tokensDist);
  await buildDts(clientDist, tokensDist);
  return opts.packTo ? pack(stage, opts.packTo) : [];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const tarballs = await buildClientPackages(
    process.argv.includes('--pack') ? { packTo: path.join(root, 'dist/packages') } : {},
  );
  for (const t of tarballs)
    console.log(`packed ${path.relative(root, t)} (${(await readFile(t)).byteLength} bytes)`);
  if (process.argv.includes('--sizes'))
    printBundleSizes(await measureBundleSizes(path.join(root, 'packages/client/dist')));
}
