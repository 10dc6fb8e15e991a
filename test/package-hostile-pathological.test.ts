import { PATHOLOGICAL_CASES } from './support/hostile.js';
import { describeHostileCases, useWorkshop } from './support/hostile-suite.js';

/**
 * The pathological cases of the hostile corpus (deep nesting, bracket runs, huge token counts,
 * inline-code floods), through the real checker like every other case (test/support/hostile-suite.ts):
 * a file of their own because they take seconds each, so they run beside package-hostile.test.ts.
 */

describeHostileCases(PATHOLOGICAL_CASES, useWorkshop());
