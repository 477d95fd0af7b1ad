import type { Finding } from '../finding.js';
import type { SourceLocation } from '../../model/location.js';
import { docsPath, type RuleMeta } from '../rule-meta.js';
import { fileUri, isBlocking, maskDeep, ordered, toJson } from './common.js';
import type { RenderInput } from './types.js';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

type Level = 'error' | 'warning' | 'note';

interface SarifRegion {
  startLine: number;
  startColumn?: number;
  endLine?: number;
  endColumn?: number;
}

interface SarifPhysicalLocation {
  artifactLocation: { uri: string };
  region: SarifRegion;
}

interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription?: { text: string };
  help?: { text: string };
  helpUri: string;
  defaultConfiguration: { level: Level };
  properties?: { tags: string[] };
}

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: Level;
  message: { text: string };
  locations: { physicalLocation: SarifPhysicalLocation }[];
  partialFingerprints: Record<string, string>;
  suppressions?: { kind: 'external' | 'inSource'; status: 'accepted'; justification: string }[];
  relatedLocations?: { id: number; physicalLocation: SarifPhysicalLocation; message: { text: string } }[];
  fixes?: {
    description: { text: string };
    artifactChanges: {
      artifactLocation: { uri: string };
      replacements: { deletedRegion: SarifRegion; insertedContent: { text: string } }[];
    }[];
  }[];
  properties: { blocking: boolean; severity: Finding['severity']; job?: string };
}

interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: {
    tool: { driver: { name: string; version: string; informationUri?: string; rules: SarifRule[] } };
    columnKind: 'utf16CodeUnits';
    results: SarifResult[];
  }[];
}

/**
 * SARIF 2.1.0 (OASIS), one run. Regions use SARIF's conventions, which match SourceLocation:
 * 1-based lines and columns, `endColumn` exclusive; columns count UTF-16 code units, like JS
 * string indices (declared with `columnKind`). Suppressed findings keep their result, with
 * level `note` and a `suppressions` entry (exception → `external`, inline comment → `inSource`).
 */
export function renderSarif(input: RenderInput): string {
  return toJson(maskDeep(buildSarif(input), input.sources));
}

function buildSarif(input: RenderInput): SarifLog {
  const findings = ordered(input.findings);
  const rules: SarifRule[] = input.rules.map(ruleDescriptor);
  const index = new Map<string, number>();
  rules.forEach((r, i) => {
    if (!index.has(r.id)) index.set(r.id, i);
  });
  // A finding from a rule missing in the catalogue still gets a descriptor, so that every
  // ruleIndex points at a rule with the same id.
  for (const f of findings) {
    if (index.has(f.ruleId)) continue;
    index.set(f.ruleId, rules.length);
    rules.push({
      id: f.ruleId,
      name: ruleName(f.ruleId),
      shortDescription: { text: f.ruleId },
      helpUri: docsPath(f.ruleId),
      defaultConfiguration: { level: f.severity },
    });
  }

  const driver: SarifLog['runs'][number]['tool']['driver'] = {
    name: 'tierguard',
    version: input.toolVersion,
    ...(input.informationUri ? { informationUri: input.informationUri } : {}),
    rules,
  };

  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: { driver },
        columnKind: 'utf16CodeUnits',
        results: findings.map((f) => result(f, index.get(f.ruleId)!)),
      },
    ],
  };
}

function ruleDescriptor(meta: RuleMeta<unknown>): SarifRule {
  return {
    id: meta.id,
    name: ruleName(meta.id),
    shortDescription: { text: meta.title },
    fullDescription: { text: meta.principle },
    help: { text: meta.fix },
    helpUri: docsPath(meta.id),
    defaultConfiguration: { level: meta.defaultSeverity },
    properties: { tags: ['security', meta.kind] },
  };
}

/** `deploy-unprotected-ref` → `DeployUnprotectedRef` (SARIF `name` is an identifier). */
export function ruleName(id: string): string {
  return id
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
}

function region(loc: SourceLocation): SarifRegion {
  const startLine = Math.max(1, loc.line);
  const startColumn = Math.max(1, loc.column);
  const endLine = Math.max(startLine, loc.endLine);
  const endColumn = endLine === startLine ? Math.max(startColumn, loc.endColumn) : Math.max(1, loc.endColumn);
  return { startLine, startColumn, endLine, endColumn };
}

function physical(loc: SourceLocation): SarifPhysicalLocation {
  return { artifactLocation: { uri: fileUri(loc.file) }, region: region(loc) };
}

function result(f: Finding, ruleIndex: number): SarifResult {
  const r: SarifResult = {
    ruleId: f.ruleId,
    ruleIndex,
    level: f.suppressed ? 'note' : f.severity,
    message: { text: f.message },
    locations: [{ physicalLocation: physical(f.location) }],
    partialFingerprints: { 'tierguard/v1': f.fingerprint },
    properties: { blocking: isBlocking(f), severity: f.severity },
  };
  if (f.job !== undefined) r.properties.job = f.job;
  if (f.suppressed) {
    r.suppressions = [
      {
        kind: f.suppressed.kind === 'exception' ? 'external' : 'inSource',
        status: 'accepted',
        justification: f.suppressed.reason,
      },
    ];
  }
  if (f.related?.length) {
    r.relatedLocations = f.related.map((rel, i) => ({
      id: i + 1,
      physicalLocation: physical(rel.location),
      message: { text: rel.message },
    }));
  }
  if (f.fix) {
    // Fix semantics (finding.ts): replace whole lines line..endLine. A region with only
    // start/end lines covers those lines without the final line break (SARIF §3.30.2), and
    // the replacement carries no trailing newline either.
    const startLine = Math.max(1, f.fix.location.line);
    r.fixes = [
      {
        description: { text: f.fix.description },
        artifactChanges: [
          {
            artifactLocation: { uri: fileUri(f.fix.location.file) },
            replacements: [
              {
                deletedRegion: { startLine, endLine: Math.max(startLine, f.fix.location.endLine) },
                insertedContent: { text: f.fix.replacement },
              },
            ],
          },
        ],
      },
    ];
  }
  return r;
}
