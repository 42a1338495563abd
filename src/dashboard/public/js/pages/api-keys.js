/** #/keys: the organisation's API keys; a new key is shown once; revoke. */
import { api, session } from '../api.js';
import { fmtTime, h, notice, replace, section, table } from '../dom.js';
import { field, onSubmit, readFields } from '../forms.js';

export async function apiKeysPage(root, { signal }) {
  const list = h('div', { id: 'keys-list' });
  const created = h('div', { id: 'new-key' });
  const specs = [{ name: 'name', label: 'Name', required: true, placeholder: 'CRM integration' }];
  const form = h('form', { class: 'form-grid', id: 'key-form' }, specs.map((s) => field(s)), h('div', { class: 'form-actions wide' }, h('button', { type: 'submit' }, 'Create key')));
  replace(root, h('div', { class: 'page-head' }, h('h1', null, 'API keys')), created, section('Keys', list), section('Create a key', form));

  const current = session.key() ?? '';
  let keys = [];
  const draw = () => {
    replace(
      list,
      table(
        ['Name', 'Prefix', 'Created', 'Status', ''],
        keys.map((k) =>
          h(
            'tr',
            { dataset: { keyId: k.id } },
            h('td', null, k.name, current.startsWith(k.prefix) ? h('span', { class: 'badge' }, 'this session') : null),
            h('td', null, h('code', null, `${k.prefix}…`)),
            h('td', null, fmtTime(k.created_at)),
            h('td', null, k.revoked_at ? `revoked ${fmtTime(k.revoked_at)}` : 'active'),
            h('td', null, k.revoked_at ? null : h('button', { type: 'button', class: 'danger small', onclick: () => revoke(k) }, 'Revoke')),
          ),
        ),
      ),
    );
  };
  const load = async () => {
    keys = (await api('GET', '/v1/api-keys', undefined, { signal })).data;
    draw();
  };
  async function revoke(k) {
    if (!confirm(`Revoke key "${k.name}" (${k.prefix}…)? Requests with it fail at once.`)) return;
    try {
      await api('DELETE', `/v1/api-keys/${encodeURIComponent(k.id)}`, undefined, { signal });
      notice(`Revoked ${k.name}`);
      await load();
    } catch (err) {
      notice(`${err.message} (${err.code ?? 'error'})`, 'error');
    }
  }
  onSubmit(form, async () => {
    const k = await api('POST', '/v1/api-keys', readFields(form, specs), { signal });
    form.reset();
    const value = h('input', { class: 'mono', readonly: true, value: k.key, id: 'new-key-value', size: Math.min(80, k.key.length + 2) });
    const copy = h('button', { type: 'button', class: 'small', onclick: async () => {
      try {
        await navigator.clipboard.writeText(k.key);
        copy.textContent = 'Copied';
      } catch {
        value.select();
      }
    } }, 'Copy');
    replace(created, h('div', { class: 'card key-once', role: 'status' }, h('h2', null, `New key "${k.name}"`), h('p', null, 'Copy it now: it is shown only once (it is stored hashed).'), h('div', { class: 'row' }, value, copy)));
    await load();
  });
  await load();
}
