"""Production scheduling: finite-capacity schedules with OR-Tools CP-SAT (see docs/scheduling.md).

Operations on the plant:

- `schedules.propose_schedule`, `apply_schedule`, `reject_schedule`, `get_schedule`,
  `applied_schedule`: a schedule proposed from the plant's open work, then applied (audited).
- `reschedule.reschedule_machine`: re-plan around a machine that is down, with its impact.
- `dispatch.work_center_queue`: a work center's queue in EDD, SPT, CR, SLACK or FIFO order.
- `analysis.schedule_conflicts`, `analysis.bottlenecks`: what is wrong, and what is loaded.
- `due_dates.check_due_dates`: whether orders make their due dates, from the applied schedule
  or a what-if plan, writing nothing.

The pure parts: `problem` (the data), `model` and `solver` (CP-SAT), `axis` and `calendar`
(working time), `dispatch` (rules and a list scheduler), `formats`, `plain` and `bench` (the
public benchmarks). `plant` and `planning` turn the plant's tables into a problem and back.
"""
