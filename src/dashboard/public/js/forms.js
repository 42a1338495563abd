/**
 * Forms described by field specs, read back into API bodies, and API errors shown beside the
 * field their `param` names (e.g. param "llm.base_url" lands on the llm field, "to" on to).
 *
 * A spec: { name, label, type: 'text'|'number'|'password'|'textarea'|'json'|'select'|'checkbox',
 *   options?: [[value, label]], placeholder?, hint?, required?, empty?: 'omit'|'null'|'string'|'array' }
 */
import { ApiError } from './api.js';
import { h } from './dom.js';

let nextId = 0;

export function field(spec, initial) {
  const id = `f${++nextId}-${spec.name.replace(/\W/g, '_')}`;
  const common = { id, name: spec.name, required: spec.required, placeholder: spec.placeholder, dataset: { param: spec.param ?? spec.name } };
  let input;
  if (spec.type === 'textarea' || spec.type === 'json') {
    const text = spec.type === 'json' ? (initial === undefined || initial === null ? '' : JSON.stringify(initial, null, 2)) : (initial ?? '');
    input = h('textarea', { ...common, rows: spec.rows ?? (spec.type === 'json' ? 6 : 3), spellcheck: spec.type === 'json' ? 'false' : undefined, class: spec.type === 'json' ? 'mono' : undefined });
    input.value = text;
  } else if (spec.type === 'select') {
    input = h('select', common, spec.options.map(([v, label]) => h('option', { value: v, selected: String(initial ?? spec.default ?? '') === String(v) }, label)));
  } else if (spec.type === 'checkbox') {
    input = h('input', { ...common, type: 'checkbox', checked: initial ?? spec.default ?? false });
  } else {
    input = h('input', {
      ...common,
      type: spec.type ?? 'text',
      step: spec.type === 'number' ? (spec.step ?? 'any') : undefined,
      autocomplete: spec.type === 'password' ? 'new-password' : 'off',
      value: initial ?? spec.default ?? '',
    });
  }
  if (spec.type === 'checkbox') {
    return h('div', { class: 'field check' }, h('label', { for: id }, input, ' ', spec.label), spec.hint ? h('small', { class: 'hint' }, spec.hint) : null);
  }
  return h('div', { class: `field${spec.wide ? ' wide' : ''}` }, h('label', { for: id }, spec.label, spec.required ? ' *' : ''), input, spec.hint ? h('small', { class: 'hint' }, spec.hint) : null);
}

/** The element holding spec.name's value. */
function control(form, name) {
  return [...form.elements].find((e) => e.name === name);
}

/** The value of one field as the API takes it, or undefined to leave it out. Throws ApiError for bad JSON. */
export function readField(form, spec) {
  const el = control(form, spec.name);
  if (!el) return undefined;
  if (spec.type === 'checkbox') return el.checked;
  const raw = el.value.trim();
  if (raw === '') {
    switch (spec.empty ?? 'omit') {
      case 'null':
        return null;
      case 'string':
        return '';
      case 'array':
        return [];
      default:
        return undefined;
    }
  }
  if (spec.type === 'number') {
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new ApiError(0, 'invalid_request', 'must be a number', spec.name);
    return n;
  }
  if (spec.type === 'json') {
    try {
      return JSON.parse(raw);
    } catch (err) {
      throw new ApiError(0, 'invalid_json', `not valid JSON: ${err.message}`, spec.name);
    }
  }
  if (spec.type === 'textarea' || spec.type === 'password') return el.value;
  return raw;
}

export function readFields(form, specs) {
  const out = {};
  for (const s of specs) {
    const v = readField(form, s);
    if (v !== undefined) out[s.name] = v;
  }
  return out;
}

export function clearErrors(form) {
  for (const e of form.querySelectorAll('.field-error, .form-error')) e.remove();
  for (const e of form.querySelectorAll('[aria-invalid]')) e.removeAttribute('aria-invalid');
}

/** The form control an error's param names: the longest leading part of the path that is a field. */
function fieldFor(form, param) {
  if (!param) return undefined;
  const parts = String(param).replace(/\[(\d+)\]/g, '.$1').split('.');
  for (let n = parts.length; n > 0; n--) {
    const name = parts.slice(0, n).join('.');
    const el = [...form.elements].find((e) => e.dataset?.param === name || e.name === name);
    if (el) return el;
  }
  return undefined;
}

/** Shows an error next to the field its param names, or atop the form. */
export function showError(form, e) {
  clearErrors(form);
  const err = e instanceof ApiError ? e : new ApiError(0, 'client_error', e?.message ?? String(e));
  const el = fieldFor(form, err.param);
  const msg = h(
    'div',
    { class: el ? 'field-error' : 'form-error', role: 'alert', dataset: { code: err.code, param: err.param ?? '' } },
    !el && err.param ? h('strong', null, `${err.param}: `) : null,
    err.message,
    ' ',
    h('code', null, err.code),
  );
  if (el) {
    el.setAttribute('aria-invalid', 'true');
    (el.closest('.field') ?? el.parentElement).append(msg);
    el.focus();
  } else {
    form.prepend(msg);
  }
}

/**
 * Wires a form's submit: clears errors, runs `action` with the submit button disabled, and shows
 * an ApiError where it belongs.
 */
export function onSubmit(form, action) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const buttons = [...form.querySelectorAll('button[type=submit]')];
    for (const b of buttons) b.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      await action();
    } catch (err) {
      showError(form, err);
    } finally {
      for (const b of buttons) b.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });
  return form;
}
