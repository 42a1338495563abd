import { vadConformance } from '../../src/providers/conformance/vad.js';
import { EnergyVad } from '../../src/providers/vad/energy.js';
import { skipReason } from '../helpers/require-tool.js';

vadConformance('energy', () => new EnergyVad(), { skip: skipReason('flite') });
