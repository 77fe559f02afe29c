import type { Config } from '../config/schema.ts';
export type RegateTenant = Config['regate']['tenants'][number];
