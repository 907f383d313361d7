/**
 * A small template engine for receiptline documents (a Mustache subset, no code, no partials):
 *
 *   {{customer.name}}          the value, made one plain line and escaped (see markup.ts): it prints literally
 *   {{#items}}...{{/items}}    repeated for each element of a list; for any other value shown once when it is
 *                              present (not null/empty/false/0), with an object's fields in scope
 *   {{^note}}...{{/note}}      shown when the value is absent or empty
 *   {{! a comment }}
 *
 * A tag alone on its line (section tags, comments) takes its line break with it. Everything else is receiptline
 * markup written by the template's author. `{{` never occurs in receiptline itself (a property is `{key: value}`).
 * A name that is not in the view is an error (a typo in a template pushed from the cloud must not print blanks).
 */
import { DesklineError } from '../../core/errors.js';

export type ViewValue = string | number | boolean | null | undefined | View | ViewValue[];
export interface View {
  [key: string]: ViewValue;
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'value'; path: string; line: number }
  | { kind: 'section'; path: string; inverted: boolean; line: number; children: Node[] };

export interface CompiledTemplate {
  readonly nodes: Node[];
}

const TAG = /\{\{\s*([#^/!]?)\s*([^}]*?)\s*\}\}/g;
const PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$|^\.$/;
/** Most nested sections; most output characters. */
const MAX_DEPTH = 8;
export const MAX_OUTPUT_CHARS = 64 * 1024;

function templateError(message: string, line?: number): DesklineError {
  return new DesklineError('SLIP_TEMPLATE_INVALID', line === undefined ? message : `line ${line}: ${message}`, { details: { line } });
}

/** Parse a template; throws SLIP_TEMPLATE_INVALID (with the line) on unbalanced sections and bad names. */
export function compileTemplate(source: string): CompiledTemplate {
  // standalone section/comment tags: drop the white space around them and their line break
  const text = source.replace(/\r\n?/g, '\n').replace(/^[ \t]*(\{\{\s*[#^/!][^}]*\}\})[ \t]*\n/gm, '$1');
  const root: Node[] = [];
  const stack: Array<{ path: string; line: number; children: Node[] }> = [{ path: '', line: 0, children: root }];
  let last = 0;
  const lineAt = (index: number) => text.slice(0, index).split('\n').length;
  for (const match of text.matchAll(TAG)) {
    const index = match.index;
    const top = stack[stack.length - 1];
    if (index > last) top.children.push({ kind: 'text', text: text.slice(last, index) });
    last = index + match[0].length;
    const [, sigil, path] = match;
    const line = lineAt(index);
    if (sigil === '!') continue;
    if (!PATH.test(path)) throw templateError(`'{{${sigil}${path}}}' is not a field name (letters, digits, _ and dots)`, line);
    if (sigil === '#' || sigil === '^') {
      if (stack.length > MAX_DEPTH) throw templateError(`sections nest deeper than ${MAX_DEPTH}`, line);
      const node: Node = { kind: 'section', path, inverted: sigil === '^', line, children: [] };
      top.children.push(node);
      stack.push({ path, line, children: node.children });
    } else if (sigil === '/') {
      if (stack.length === 1) throw templateError(`'{{/${path}}}' closes a section that was not opened`, line);
      if (top.path !== path) throw templateError(`'{{/${path}}}' closes '{{#${top.path}}}' opened on line ${top.line}`, line);
      stack.pop();
    } else {
      top.children.push({ kind: 'value', path, line });
    }
  }
  if (stack.length > 1) {
    const open = stack[stack.length - 1];
    throw templateError(`'{{#${open.path}}}' is never closed`, open.line);
  }
  const rest = text.slice(last);
  if (rest.includes('{{')) throw templateError(`an unfinished '{{' tag`, lineAt(last + rest.indexOf('{{')));
  if (rest) root.push({ kind: 'text', text: rest });
  return { nodes: root };
}

const MISSING = Symbol('missing');

function lookup(scopes: ViewValue[], path: string): ViewValue | typeof MISSING {
  if (path === '.') return scopes[scopes.length - 1];
  const [head, ...rest] = path.split('.');
  for (let i = scopes.length - 1; i >= 0; i--) {
    const scope = scopes[i];
    if (scope === null || typeof scope !== 'object' || Array.isArray(scope) || !Object.hasOwn(scope, head)) continue;
    let value: ViewValue = scope[head];
    for (const key of rest) {
      if (value === null || value === undefined) return undefined;
      if (typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, key)) return MISSING;
      value = value[key];
    }
    return value;
  }
  return MISSING;
}

function present(value: ViewValue): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return value !== null && value !== undefined && value !== false && value !== '' && value !== 0;
}

/**
 * Render a compiled template with a view. Every inserted value is escaped with `escape` (markup.ts's
 * escapeMarkup for receiptline). Throws SLIP_TEMPLATE_INVALID for unknown names and an output that is too large.
 */
export function renderTemplate(template: CompiledTemplate, view: View, escape: (value: string) => string): string {
  let out = '';
  const walk = (nodes: Node[], scopes: ViewValue[]) => {
    for (const node of nodes) {
      if (node.kind === 'text') {
        out += node.text;
      } else if (node.kind === 'value') {
        const value = lookup(scopes, node.path);
        if (value === MISSING) throw templateError(`'{{${node.path}}}' is not a field of this slip`, node.line);
        if (value !== null && typeof value === 'object') throw templateError(`'{{${node.path}}}' is a list or a group: use it as a section {{#${node.path}}}...{{/${node.path}}}`, node.line);
        if (value !== null && value !== undefined && value !== false) out += escape(String(value));
      } else {
        const value = lookup(scopes, node.path);
        if (value === MISSING) throw templateError(`'{{${node.inverted ? '^' : '#'}${node.path}}}' is not a field of this slip`, node.line);
        if (node.inverted) {
          if (!present(value)) walk(node.children, scopes);
        } else if (Array.isArray(value)) {
          for (const element of value) walk(node.children, [...scopes, element]);
        } else if (present(value)) {
          walk(node.children, typeof value === 'object' ? [...scopes, value] : scopes);
        }
      }
      if (out.length > MAX_OUTPUT_CHARS) throw templateError(`the slip is longer than ${MAX_OUTPUT_CHARS} characters`);
    }
  };
  walk(template.nodes, [view]);
  return out;
}
