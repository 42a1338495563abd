import { vadConformance } from '../../src/providers/conformance/vad.js';
import { SileroVad } from '../../src/providers/vad/silero.js';
import { skipReason } from '../helpers/require-tool.js';

vadConformance('silero', () => new SileroVad(), { skip: skipReason('flite') });
