//! A brute-force reservation engine: no histograms, no lists, no incremental state — every
//! question is answered by walking every group. It shares only the *policy* with the real
//! engine (what may share, rotation by ticket), never the bookkeeping.

extern crate std;

use std::collections::{BTreeMap, BTreeSet};
use std::vec::Vec;

use super::TestProgram;
use crate::{
    CpuId, Pinning, Plan, PoolKind, Request, ReserveError, Scope, Sharing, SlotProgram, TaskId,
};

const POOLS: [PoolKind; 3] = [PoolKind::Shared, PoolKind::Data, PoolKind::Instruction];

fn pool_index(pool: PoolKind) -> usize {
    POOLS.iter().position(|&p| p == pool).unwrap()
}

#[derive(Debug, Clone)]
pub(super) struct OracleGroup {
    pub(super) scope: Scope,
    pub(super) pinning: Pinning,
    pub(super) exclusive: bool,
    pub(super) plan: Plan<TestProgram>,
    pub(super) ticket: u64,
    pub(super) armed: bool,
}

impl OracleGroup {
    fn weight(&self, pool: usize) -> u8 {
        self.plan
            .iter()
            .filter(|p| pool_index(p.pool()) == pool)
            .count() as u8
    }
}

#[derive(Debug, Clone)]
pub(super) struct OracleConsumer {
    pub(super) request: Request,
    pub(super) group: u64,
    pub(super) missed: u64,
}

#[derive(Debug, Clone)]
pub(super) struct Oracle {
    slots: [u8; 3],
    online: u32,
    pub(super) groups: BTreeMap<u64, OracleGroup>,
    pub(super) consumers: BTreeMap<u64, OracleConsumer>,
    next_id: u64,
    next_ticket: u64,
}

impl Oracle {
    pub(super) fn new(slots: [u8; 3], online: u32) -> Self {
        Self {
            slots,
            online,
            groups: BTreeMap::new(),
            consumers: BTreeMap::new(),
            next_id: 0,
            next_ticket: 0,
        }
    }

    pub(super) fn sharers(&self, group: u64) -> usize {
        self.consumers.values().filter(|c| c.group == group).count()
    }

    /// Pinned slots of `pool` held on `cpu` by CPU-bound groups.
    pub(super) fn cpu_pinned(&self, pool: usize, cpu: u32, excluded: Option<u64>) -> u8 {
        self.groups
            .iter()
            .filter(|(id, g)| Some(**id) != excluded && g.pinning == Pinning::Pinned)
            .filter(|(_, g)| matches!(g.scope, Scope::AllCpus) || g.scope == Scope::Cpu(CpuId(cpu)))
            .map(|(_, g)| g.weight(pool))
            .sum()
    }

    /// Pinned slots of `pool` task `task` holds on `cpu`.
    pub(super) fn task_count(
        &self,
        pool: usize,
        task: TaskId,
        cpu: u32,
        excluded: Option<u64>,
    ) -> u8 {
        self.groups
            .iter()
            .filter(|(id, g)| Some(**id) != excluded && g.pinning == Pinning::Pinned)
            .filter(|(_, g)| {
                g.scope == Scope::Task(task) || g.scope == Scope::TaskOnCpu(task, CpuId(cpu))
            })
            .map(|(_, g)| g.weight(pool))
            .sum()
    }

    /// The largest count any task holds on `cpu`, by walking every task.
    pub(super) fn busiest_task(&self, pool: usize, cpu: u32, excluded: Option<u64>) -> u8 {
        let tasks: BTreeSet<TaskId> = self
            .groups
            .values()
            .filter_map(|g| g.scope.task())
            .collect();
        tasks
            .into_iter()
            .map(|t| self.task_count(pool, t, cpu, excluded))
            .max()
            .unwrap_or(0)
    }

    fn check(
        &self,
        scope: Scope,
        plan: &Plan<TestProgram>,
        excluded: Option<u64>,
    ) -> Result<(), ReserveError> {
        for (p, &pool) in POOLS.iter().enumerate() {
            let weight = plan.iter().filter(|x| x.pool() == pool).count() as u8;
            if weight == 0 {
                continue;
            }
            let cpus: Vec<u32> = match scope.cpu() {
                Some(c) => std::vec![c.0],
                None => (0..self.online).collect(),
            };
            for cpu in cpus {
                let cpu_pinned = self.cpu_pinned(p, cpu, excluded);
                let task_term = match scope.task() {
                    Some(t) => self.task_count(p, t, cpu, excluded),
                    None => self.busiest_task(p, cpu, excluded),
                };
                if u32::from(cpu_pinned) + u32::from(task_term) + u32::from(weight)
                    > u32::from(self.slots[p])
                {
                    return Err(ReserveError::CpuFull {
                        pool,
                        cpu: CpuId(cpu),
                        cpu_pinned,
                        task_term,
                        task: scope.task(),
                        weight,
                        slots: self.slots[p],
                    });
                }
            }
        }
        Ok(())
    }

    fn validate(&self, request: &Request, plan: &Plan<TestProgram>) -> Result<(), ReserveError> {
        if plan.is_empty() {
            return Err(ReserveError::EmptyPlan);
        }
        if let Some(cpu) = request.scope().cpu()
            && cpu.0 >= self.online
        {
            return Err(ReserveError::UnknownCpu {
                cpu,
                online: self.online,
            });
        }
        for (p, &pool) in POOLS.iter().enumerate() {
            let weight = plan.iter().filter(|x| x.pool() == pool).count() as u8;
            if weight > self.slots[p] {
                return Err(ReserveError::NeverFits {
                    pool,
                    weight,
                    slots: self.slots[p],
                });
            }
        }
        Ok(())
    }

    fn joinable(&self, request: &Request, plan: &Plan<TestProgram>) -> Option<u64> {
        if request.sharing() == Sharing::Exclusive {
            return None;
        }
        self.groups
            .iter()
            .find(|(_, g)| {
                !g.exclusive
                    && g.scope == request.scope()
                    && g.pinning == request.pinning()
                    && g.plan == *plan
            })
            .map(|(id, _)| *id)
    }

    fn new_group(&mut self, request: &Request, plan: Plan<TestProgram>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.groups.insert(
            id,
            OracleGroup {
                scope: request.scope(),
                pinning: request.pinning(),
                exclusive: request.sharing() == Sharing::Exclusive,
                plan,
                ticket,
                armed: false,
            },
        );
        id
    }

    pub(super) fn reserve(
        &mut self,
        request: Request,
        plan: Plan<TestProgram>,
    ) -> Result<u64, ReserveError> {
        self.validate(&request, &plan)?;
        let group = match self.joinable(&request, &plan) {
            Some(g) => g,
            None => {
                if request.pinning() == Pinning::Pinned {
                    self.check(request.scope(), &plan, None)?;
                }
                self.new_group(&request, plan)
            }
        };
        let id = self.next_id;
        self.next_id += 1;
        self.consumers.insert(
            id,
            OracleConsumer {
                request,
                group,
                missed: 0,
            },
        );
        Ok(id)
    }

    pub(super) fn modify(
        &mut self,
        id: u64,
        request: Request,
        plan: Plan<TestProgram>,
    ) -> Result<(), ReserveError> {
        let consumer = self
            .consumers
            .get(&id)
            .ok_or(ReserveError::UnknownReservation)?
            .clone();
        self.validate(&request, &plan)?;
        let old = self.groups[&consumer.group].clone();
        if old.scope == request.scope()
            && old.pinning == request.pinning()
            && old.exclusive == (request.sharing() == Sharing::Exclusive)
            && old.plan == plan
        {
            self.consumers.get_mut(&id).unwrap().request = request;
            return Ok(());
        }
        let leaving_frees = self.sharers(consumer.group) == 1;
        let joinable = self.joinable(&request, &plan);
        if joinable.is_none() && request.pinning() == Pinning::Pinned {
            let excluded =
                (leaving_frees && old.pinning == Pinning::Pinned).then_some(consumer.group);
            self.check(request.scope(), &plan, excluded)?;
        }
        if leaving_frees {
            self.groups.remove(&consumer.group);
        }
        let group = match joinable {
            Some(g) => g,
            None => self.new_group(&request, plan),
        };
        let c = self.consumers.get_mut(&id).unwrap();
        c.group = group;
        c.request = request;
        Ok(())
    }

    pub(super) fn release(&mut self, id: u64) -> Result<Request, ReserveError> {
        let consumer = self
            .consumers
            .remove(&id)
            .ok_or(ReserveError::UnknownReservation)?;
        if self.sharers(consumer.group) == 0 {
            self.groups.remove(&consumer.group);
        }
        Ok(consumer.request)
    }

    /// The consumers armed when `task` starts on `cpu`, and the slots used per pool.
    pub(super) fn switch_in(
        &mut self,
        task: TaskId,
        cpu: CpuId,
    ) -> Result<(BTreeSet<u64>, [u8; 3]), ReserveError> {
        if cpu.0 >= self.online {
            return Err(ReserveError::UnknownCpu {
                cpu,
                online: self.online,
            });
        }
        let mut used = [0u8; 3];
        let mut loaded = BTreeSet::new();
        for (id, g) in &self.groups {
            if g.pinning == Pinning::Pinned && g.scope.covers(task, cpu) {
                for (p, used) in used.iter_mut().enumerate() {
                    *used += g.weight(p);
                }
                loaded.insert(*id);
            }
        }
        let mut candidates: Vec<(u64, u64)> = self
            .groups
            .iter()
            .filter(|(_, g)| g.pinning == Pinning::Flexible && g.scope.covers(task, cpu))
            .map(|(id, g)| (g.ticket, *id))
            .collect();
        candidates.sort();
        for (_, id) in candidates {
            let fits = (0..3).all(|p| used[p] + self.groups[&id].weight(p) <= self.slots[p]);
            if fits {
                for (p, used) in used.iter_mut().enumerate() {
                    *used += self.groups[&id].weight(p);
                }
                let ticket = self.next_ticket;
                self.next_ticket += 1;
                let g = self.groups.get_mut(&id).unwrap();
                g.ticket = ticket;
                g.armed = true;
                loaded.insert(id);
            } else {
                self.groups.get_mut(&id).unwrap().armed = false;
                for c in self.consumers.values_mut().filter(|c| c.group == id) {
                    c.missed += 1;
                }
            }
        }
        let armed = self
            .consumers
            .iter()
            .filter(|(_, c)| loaded.contains(&c.group))
            .map(|(id, _)| *id)
            .collect();
        Ok((armed, used))
    }
}
