import { hostSetup } from './contract-setup.ts';

export default hostSetup('deno');
