// The MCU link's timers and log are the drivers' common ones (drivers/common/timers.ts).
export { systemTimers, silentLog } from '../common/timers.js';
export type { DriverTimers as McuTimers, DriverLog as McuLog } from '../common/timers.js';
