-- An agent may hear and speak through one speech-to-speech model (src/contract/agent.ts
-- speech_to_speech) instead of stt + llm + tts; its key is kept with the others in provider_secrets_enc.
alter table agents add column speech_to_speech jsonb;
