/** Retry and fallback, once, in adapters: an ordered list of providers of one kind behaving as one. */
export { describeError, ProviderHealth, type FallbackKind, type FallbackOptions, type FallbackSwitch } from './common.js';
export { FallbackLlm } from './llm.js';
export { FallbackStt, type FallbackSttOptions } from './stt.js';
export { FallbackTts } from './tts.js';
