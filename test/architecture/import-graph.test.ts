/**
 * The layout tells the truth: every import under src/ runs down the layers of docs/architecture.md,
 * the media thread's code never reaches the store, and no two files import each other in a circle.
 * A new file in a new folder fails here until the folder is given a place in LAYERS.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { importGraph, layerOf, LAYERS, MEDIA_SIDE_FORBIDDEN, findCycles, type Edge } from './import-graph.js';

const graph = importGraph('src');

test('every file under src/ belongs to a layer', () => {
  const homeless = graph.files.filter((f) => layerOf(f) === undefined);
  assert.deepEqual(homeless, [], 'give these files a layer in test/architecture/import-graph.ts');
});

test('imports run only down the layers (or within one layer)', () => {
  const upward: string[] = [];
  for (const e of graph.edges) {
    const from = layerOf(e.from);
    const to = layerOf(e.to);
    if (from === undefined || to === undefined || from === to) continue;
    if (!(LAYERS[from] ?? []).includes(to)) upward.push(`${e.from} -> ${e.to}${e.typeOnly ? ' (type)' : ''}   [${from} may import: ${(LAYERS[from] ?? []).join(', ') || 'nothing'}]`);
  }
  assert.deepEqual(upward, []);
});

test('the media thread (worker/media, voice, telephony, providers, media) never imports the store, dispatch or calls (types excepted)', () => {
  const mediaSide = ['worker/media', 'voice', 'telephony', 'providers', 'media'];
  const bad = graph.edges.filter(
    (e: Edge) => !e.typeOnly && mediaSide.includes(layerOf(e.from) ?? '') && MEDIA_SIDE_FORBIDDEN.includes(layerOf(e.to) ?? ''),
  );
  assert.deepEqual(bad.map((e) => `${e.from} -> ${e.to}`), []);
});

test('no circles between files (type-only imports included)', () => {
  assert.deepEqual(findCycles(graph), []);
});

test('the checker itself finds an upward import and a circle', () => {
  const files = ['src/store/a.ts', 'src/api/b.ts', 'src/voice/c.ts', 'src/voice/d.ts'];
  const edges: Edge[] = [
    { from: 'src/store/a.ts', to: 'src/api/b.ts', typeOnly: true },
    { from: 'src/voice/c.ts', to: 'src/voice/d.ts', typeOnly: false },
    { from: 'src/voice/d.ts', to: 'src/voice/c.ts', typeOnly: true },
  ];
  assert.equal(layerOf('src/store/a.ts'), 'store');
  assert.ok(!(LAYERS.store ?? []).includes('api'));
  assert.deepEqual(findCycles({ files, edges }), [['src/voice/c.ts', 'src/voice/d.ts']]);
});
