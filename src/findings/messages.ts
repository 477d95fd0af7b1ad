/**
 * Rule messages by id, as ESLint's `meta.messages`: a rule declares its message templates once
 * (`{{name}}` placeholders) and reports `{ messageId, data }`; the text is built here and only
 * here, so every message can be checked for one style and tests can assert by id.
 */

/** Values a report passes for a template's placeholders. */
export type MessageData = Readonly<Record<string, string | number>>;

/** What a report says: a message id with its data (or, for code outside the rule families, plain text). */
export interface MessageReport {
  message?: string;
  messageId?: string;
  data?: MessageData;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The placeholder names of a template, in order of first use. */
export function placeholders(template: string): string[] {
  const names: string[] = [];
  const parts = partsOf(template);
  for (let i = 1; i < parts.length; i += 2) if (!names.includes(parts[i]!)) names.push(parts[i]!); // odd indexes are names
  return names;
}

/**
 * The text of a report. A `messageId` must name a template of the rule and every placeholder
 * must have data: otherwise an Error naming the rule and the message id (a bug in the rule).
 * A template may begin with a placeholder ("{{where}} sets …"): the text still begins with a
 * capital letter.
 */
export function resolveMessage(ruleId: string, r: MessageReport, messages?: Readonly<Record<string, string>>): string {
  if (r.messageId === undefined) {
    if (r.message === undefined) throw new Error(`rule ${ruleId} reported neither a messageId nor a message`);
    return r.message;
  }
  const template = messages && Object.hasOwn(messages, r.messageId) ? messages[r.messageId] : undefined;
  if (template === undefined) throw new Error(`rule ${ruleId} has no message "${r.messageId}" in its meta.messages`);
  const parts = partsOf(template);
  let text = parts[0]!; // partsOf gives at least the text before the first placeholder
  for (let i = 1; i < parts.length; i += 2) {
    const name = parts[i]!; // odd indexes are names, each followed by the text after it
    const value = r.data && Object.hasOwn(r.data, name) ? r.data[name] : undefined;
    if (value === undefined) throw new Error(`rule ${ruleId} message "${r.messageId}" has placeholder {{${name}}} but the report gave no data for it`);
    text += String(value) + parts[i + 1]!;
  }
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * A template split once at its placeholders: text, name, text, …, text (every finding of a
 * rule builds its message from the same few templates). Templates are the rules' own
 * `meta.messages` strings, a fixed set, so the map only grows with the code.
 */
function partsOf(template: string): readonly string[] {
  let parts = templateParts.get(template);
  if (!parts) {
    const out: string[] = [];
    let last = 0;
    for (const m of template.matchAll(PLACEHOLDER)) {
      out.push(template.slice(last, m.index), m[1]!); // group 1 is the name
      last = m.index + m[0].length;
    }
    out.push(template.slice(last));
    templateParts.set(template, (parts = out));
  }
  return parts;
}
const templateParts = new Map<string, readonly string[]>();
