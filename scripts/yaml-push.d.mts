import type { Plugin } from 'esbuild';

/** The public generator methods of each rewritten file of the yaml package. */
export const PUBLIC_GENERATORS: Record<string, string[]>;
/** Rewrite yaml/dist/<file> (one of PUBLIC_GENERATORS' keys) to push methods under the same public generators. */
export function pushify(source: string, file: string): string;
/** esbuild plugin that bundles the three files rewritten. */
export const yamlPushPlugin: Plugin;
