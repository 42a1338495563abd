/**
 * The voice a TTS speaks a call's language with when the agent names no voice. Only engines whose
 * voices are per language need one: espeak-ng (a voice per language, below); flite's voices are all
 * English (it keeps its default); the cloud engines here are multilingual and take the language as
 * a request parameter instead (ElevenLabs language_code, Cartesia language), read from the settings.
 */

/** espeak-ng 1.51's language voices (`espeak-ng --voices`, Debian 12), lower case. */
const ESPEAK_VOICES = new Set(
  (
    'af am an ar as az ba be bg bn bpy bs ca cmn cs cv cy da de el en-029 en-gb en-gb-scotland en-gb-x-rp en-us en-us-nyc eo es es-419 ' +
    'et eu fa fi fr-be fr-ch fr-fr ga gd gn grc gu hak haw he hi hr ht hu hy hyw ia id io is it ja jbo ka kk kl kn ko kok ku ky la lb lfn ' +
    'lt ltg lv mi mk ml mr ms mt my nb nci ne nl nog om or pa pap piqd pl pt pt-br py qdb qu quc qya ro ru ru-lv sd shn si sjn sk sl smj ' +
    'sq sr sv sw ta te th tk tn tr tt ug uk ur uz vi yue'
  ).split(' '),
);

/** BCP-47 primary subtags espeak-ng names otherwise. */
const ESPEAK_ALIASES: Record<string, string> = { zh: 'cmn', no: 'nb', iw: 'he', in: 'id' };

/** The primary language subtag, lower case: `es-MX` -> `es`. */
export function primaryLanguage(tag: string): string {
  return (tag.split(/[-_]/)[0] ?? '').toLowerCase();
}

/**
 * espeak-ng's voice for a BCP-47 tag: the tag itself (`en-GB` -> `en-gb`), else its language
 * (`es-MX` -> `es`), else the language's main region (`fr` -> `fr-fr`), else undefined (none).
 */
export function espeakVoiceFor(language: string): string | undefined {
  const tag = language.toLowerCase().replace(/_/g, '-');
  if (ESPEAK_VOICES.has(tag)) return tag;
  const primary = ESPEAK_ALIASES[primaryLanguage(tag)] ?? primaryLanguage(tag);
  if (ESPEAK_VOICES.has(primary)) return primary;
  if (ESPEAK_VOICES.has(`${primary}-${primary}`)) return `${primary}-${primary}`;
  return undefined;
}

/**
 * The voice `provider` should use for `language` when none is set, or undefined to keep the
 * engine's default. `defaultVoice` is the engine's configured default (OUTCALL_TTS_VOICE for
 * espeak-ng): it is kept when it already speaks the language (an operator's en-gb stays for en-US).
 */
export function ttsVoiceForLanguage(provider: string, language: string | undefined, defaultVoice = 'en-us'): string | undefined {
  if (language === undefined || provider !== 'espeak-ng') return undefined;
  if (primaryLanguage(defaultVoice) === (ESPEAK_ALIASES[primaryLanguage(language)] ?? primaryLanguage(language))) return undefined;
  return espeakVoiceFor(language);
}
