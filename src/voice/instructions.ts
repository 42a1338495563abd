/**
 * What a model is told about its call besides the agent's prompt, in words both agents that use a
 * model share (the cascaded LLM brain as system messages, the speech-to-speech model in its session
 * instructions): which language to speak, and this call's facts.
 */

/** The language's English name (`es-MX` -> "Spanish (Mexico)"); the tag itself when ICU has none. */
export function languageName(tag: string): string {
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(tag) ?? tag;
  } catch {
    return tag; // a tag ICU cannot parse: the model still reads the tag
  }
}

/** The instruction to speak the call's language: the recognizer hears only it, the voice speaks it. */
export function languageInstruction(tag: string): string {
  return `Speak ${languageName(tag)} (${tag}) on this call: the callee is heard and spoken to in that language.`;
}

/** This call's facts as the model reads them: its dynamic variables and, when given, its call_context. */
export function callFacts(dynamicVariables: Record<string, string>, callContext: string | undefined): Record<string, unknown> {
  const facts: Record<string, unknown> = { dynamic_variables: dynamicVariables };
  if (callContext) facts.call_context = callContext;
  return facts;
}
