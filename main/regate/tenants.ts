import type { Config } from '../config/schema.ts';

/** ReGate's slice of the config, and one tenant (a 1C base) of it. */
export type RegateConfig = Config['regate'];
export type RegateTenant = RegateConfig['tenants'][number];
