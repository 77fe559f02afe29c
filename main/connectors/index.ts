import { passteam } from './passteam/module.ts';
import { paykeeper } from './paykeeper/module.ts';
import { docpart } from './docpart/module.ts';
import { regate } from '../regate/module.ts';

/**
 * Every module Sputnik has, in this order (the config's, the window's menu and settings, the
 * migrations'). Each is a descriptor (main/core/module.ts): light, so the config, the desktop shell
 * and the CLI's help read them without loading the modules' code. Adding a connector is its folder
 * with a `module.ts` and an `index.ts`, and its line here (README: «Adding a connector»).
 */
export const MODULES = [passteam, paykeeper, docpart, regate] as const;

/** Every domain the core runs (createCore loads each one's code). */
export const defaultModules = MODULES;
