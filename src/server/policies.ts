/**
 * Policy per project namespace: default.yaml ← teams/<group>… loaded once per group path and
 * cached (policy files are deployment configuration; a change needs a restart, like a config
 * map roll-out). The baseline is loaded at start so an invalid file stops the service at once.
 */
import { allRuleMetas } from '../catalogue/catalogue.js';
import { loadPolicy } from '../policy/load.js';
import type { Policy } from '../policy/types.js';

export interface PolicyLoader {
  /** The team policy for a GitLab namespace full path (throws PolicyError on an invalid file). */
  forGroup(groupPath: string): Policy;
}

export function createPolicyLoader(dir: string | undefined, max = 1000): PolicyLoader {
  const rules = allRuleMetas();
  const baseline = loadPolicy({ dir, rules });
  const cache = new Map<string, Policy>();
  return {
    forGroup(groupPath) {
      if (!groupPath) return clone(baseline);
      let p = cache.get(groupPath);
      if (!p) {
        p = loadPolicy({ dir, group: groupPath, rules });
        cache.set(groupPath, p);
        if (cache.size > max) cache.delete(cache.keys().next().value as string);
      }
      return clone(p);
    },
  };
}

/** Callers add the project's protected refs to the policy: never to the cached copy. */
function clone(p: Policy): Policy {
  return structuredClone(p);
}
