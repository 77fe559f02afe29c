import type { ModuleFactory } from '../core/module.ts';
import { passteamModule } from './passteam/index.ts';
import { paykeeperModule } from './paykeeper/index.ts';
import { docpartModule } from './docpart/index.ts';
import { regateModule } from '../regate/index.ts';

/** Every domain the core runs (importing this also registers their `sputnik check` probes). */
export const defaultModules: ModuleFactory[] = [passteamModule, paykeeperModule, docpartModule, regateModule];
