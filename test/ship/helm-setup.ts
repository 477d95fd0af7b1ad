// vitest globalSetup: makes sure the real helm binary is there before the chart tests run.
import { ensureHelm } from './helm.js';

export default function setup(): void {
  ensureHelm((msg) => console.log(msg));
}
