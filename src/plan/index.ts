// The plan stage (src/plan/plan-repository.ts): the functions of the checkout, what the event
// changed, and what to do with each.
export { planRepository, type PlanRequest, type PlanResult } from './plan-repository.js';
