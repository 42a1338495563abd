/**
 * {{variable}} templates in an agent's prompt and greeting, filled from the call's dynamic_variables.
 * A referenced variable that the call does not give is caught when the call is created (422), so a
 * literal "{{name}}" is never spoken on the phone.
 */
const VARIABLE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export function referencedVariables(template: string): string[] {
  const names = new Set<string>();
  for (const m of template.matchAll(VARIABLE)) names.add(m[1] as string);
  return [...names];
}

export function missingVariables(templates: readonly string[], vars: Readonly<Record<string, string>>): string[] {
  const missing = new Set<string>();
  for (const t of templates) for (const name of referencedVariables(t)) if (!Object.hasOwn(vars, name)) missing.add(name);
  return [...missing];
}

export function fillTemplate(template: string, vars: Readonly<Record<string, string>>): string {
  return template.replace(VARIABLE, (whole, name: string) => (Object.hasOwn(vars, name) ? (vars[name] as string) : whole));
}
