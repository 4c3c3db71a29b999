//! The common case of the trigger-before interlock (`common_case.rs`) must take the
//! continuous hit it is built for, and leave everything else to the general path. Each test
//! below is one of its guards: a state it must decline because the general path's handling
//! differs there, or the hit it must take.

use super::*;

fn user(task: TaskId, cpu: CpuId, pc: u64) -> TrapFrame {
    TrapFrame {
        task,
        cpu,
        pc,
        mode: ExecutionMode::User,
    }
}

/// The trace after the step of the instruction at 0x400.
fn trace(d: &mut Toy, task: TaskId, cpu: &mut ToyCpu, on: CpuId, sink: &mut Collected) {
    let r = d.handle_exception(&user(task, on, 0x404), ToyStatus::Trace, cpu, sink);
    assert!(r.unwrap().claimed, "the interlock's own trace");
}

#[test]
fn a_continuous_hit_beside_another_armed_watch_takes_the_common_case() {
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    let hit = watch(&mut d, &mut cpu.env, 0x1010, 4, Delivery::After);
    watch(&mut d, &mut cpu.env, 0x1030, 4, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.env.access = Some(write_access(0x1012, 2, AccessClass::Plain));

    let dsi = ToyStatus::DataMatch { dar: 0x1012 };
    let r = d.handle_exception(&user(T1, CPU0, 0x400), dsi, &mut cpu, &mut sink);
    assert_eq!(r.unwrap().action, ResumeAction::Step);
    let step = d.pending[0]
        .as_ref()
        .expect("the step is in the first place");
    assert_eq!(
        step.lone_slot.map(|(slot, _)| slot.index()),
        Some(0),
        "only the common case records the lone slot: it was taken"
    );
    assert!(
        cpu.regs.installed[0].is_none() && cpu.regs.installed[1].is_some(),
        "only the firing slot is disarmed"
    );

    cpu.env.perform(0x5A);
    trace(&mut d, T1, &mut cpu, CPU0, &mut sink);
    assert_eq!(sink.0.len(), 1);
    assert_eq!(sink.0[0].request, hit);
    assert!(cpu.regs.installed.iter().all(Option::is_some));
}

#[test]
fn two_tasks_stepping_at_once_each_get_their_hit() {
    // The common case keeps its step in the first place of the table and assumes it is the
    // only one in flight: with another task's step pending it must not run.
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu0, mut cpu1, mut sink) = (ToyCpu::new(), ToyCpu::new(), Collected::default());
    let first = watch(&mut d, &mut cpu0.env, 0x1010, 4, Delivery::After);
    let second = request(0x1030, 4, Scope::Task(T2))
        .delivery(Delivery::After)
        .build()
        .unwrap();
    let second = d.register(second, &mut cpu1.env).unwrap();
    d.switch_in(T1, CPU0, &mut cpu0.regs).unwrap();
    d.switch_in(T2, CPU1, &mut cpu1.regs).unwrap();
    cpu0.env.access = Some(write_access(0x1010, 2, AccessClass::Plain));
    cpu1.env.access = Some(write_access(0x1030, 2, AccessClass::Plain));

    let dsi = |dar| ToyStatus::DataMatch { dar };
    let r = d.handle_exception(&user(T1, CPU0, 0x400), dsi(0x1010), &mut cpu0, &mut sink);
    assert_eq!(r.unwrap().action, ResumeAction::Step);
    let r = d.handle_exception(&user(T2, CPU1, 0x400), dsi(0x1030), &mut cpu1, &mut sink);
    assert_eq!(r.unwrap().action, ResumeAction::Step);
    assert_eq!(
        (d.pending_step(T1), d.pending_step(T2)),
        (Some(0x400), Some(0x400))
    );

    cpu0.env.perform(0x11);
    cpu1.env.perform(0x22);
    trace(&mut d, T1, &mut cpu0, CPU0, &mut sink);
    trace(&mut d, T2, &mut cpu1, CPU1, &mut sink);
    let delivered: std::vec::Vec<RequestId> = sink.0.iter().map(|e| e.request).collect();
    assert_eq!(delivered, [first, second]);
    assert_eq!(d.statistics().delivered_hits, 2);
    assert_eq!((d.pending_step(T1), d.pending_step(T2)), (None, None));
    assert!(cpu0.regs.installed[0].is_some() && cpu1.regs.installed[0].is_some());
}

#[test]
fn a_dsi_in_a_task_not_switched_in_on_that_cpu_is_a_stray_that_uninstalls_the_slot() {
    // The registers hold T1's watch, but the kernel reports the DSI for T2 (it switched
    // tasks without telling the layer): nothing of T1's may be stepped or delivered for T2.
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    watch(&mut d, &mut cpu.env, 0x1010, 4, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.env.access = Some(write_access(0x1010, 2, AccessClass::Plain));

    let dsi = ToyStatus::DataMatch { dar: 0x1010 };
    let r = d
        .handle_exception(&user(T2, CPU0, 0x400), dsi, &mut cpu, &mut sink)
        .unwrap();
    assert_eq!((r.action, r.claimed), (ResumeAction::Resume, false));
    assert_eq!(d.pending_step(T2), None);
    assert!(!cpu.regs.single_step);
    assert_eq!(
        cpu.regs.installed[0], None,
        "T1's slot stops matching in T2"
    );
    assert_eq!(d.statistics().stray_hits, 1);
    assert!(sink.0.is_empty());
}

#[test]
fn trap_after_hardware_reporting_only_an_address_delivers_at_once() {
    // The interlock is for hardware that fires before the access; after it, the hit is
    // delivered in the exception, with no step.
    let mut d = Toy::new(ToyArch::new(Timing::After));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    let id = watch(&mut d, &mut cpu.env, 0x1010, 4, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.env.access = Some(write_access(0x1010, 2, AccessClass::Plain));
    cpu.env.perform(0x33);

    let dsi = ToyStatus::DataMatch { dar: 0x1010 };
    let r = d
        .handle_exception(&user(T1, CPU0, 0x404), dsi, &mut cpu, &mut sink)
        .unwrap();
    assert_eq!(r.action, ResumeAction::Resume);
    assert_eq!(d.pending_step(T1), None);
    assert!(!cpu.regs.single_step && cpu.regs.installed[0].is_some());
    assert_eq!(sink.0.len(), 1);
    assert_eq!(sink.0[0].request, id);
}

#[test]
fn an_exact_report_of_an_unarmed_slot_on_trigger_before_hardware_is_a_stray() {
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    watch(&mut d, &mut cpu.env, 0x1010, 4, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.env.access = Some(write_access(0x1010, 2, AccessClass::Plain));

    let both = ToyStatus::Exact {
        slots: 0b11,
        single_step: false,
    };
    let r = d.handle_exception(&user(T1, CPU0, 0x400), both, &mut cpu, &mut sink);
    assert_eq!(r.unwrap().action, ResumeAction::Step);
    assert_eq!(
        d.statistics().stray_hits,
        1,
        "slot 1 reported exactly, armed by no one"
    );
    cpu.env.perform(0x44);
    trace(&mut d, T1, &mut cpu, CPU0, &mut sink);
    assert_eq!(sink.0.len(), 1);
}

#[test]
fn a_watch_disabled_while_loaded_is_uninstalled_at_the_next_hit_beside_it() {
    // Disabling does not reach the registers of the CPU the task runs on; the next DSI
    // there finds the slot armed by no one and uninstalls it, as the general path does.
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    let kept = watch(&mut d, &mut cpu.env, 0x1010, 4, Delivery::After);
    let disabled = watch(&mut d, &mut cpu.env, 0x1030, 4, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    d.disable(disabled).unwrap();
    assert!(cpu.regs.installed[1].is_some(), "still in the registers");
    cpu.env.access = Some(write_access(0x1010, 2, AccessClass::Plain));

    let dsi = ToyStatus::DataMatch { dar: 0x1010 };
    let r = d.handle_exception(&user(T1, CPU0, 0x400), dsi, &mut cpu, &mut sink);
    assert_eq!(r.unwrap().action, ResumeAction::Step);
    assert_eq!(cpu.regs.installed[1], None, "the disabled watch's slot");
    cpu.env.perform(0x55);
    trace(&mut d, T1, &mut cpu, CPU0, &mut sink);
    assert_eq!(sink.0.len(), 1);
    assert_eq!(sink.0[0].request, kept);
    assert!(cpu.regs.installed[0].is_some() && cpu.regs.installed[1].is_none());
}

#[test]
fn a_hit_in_a_group_of_two_slots_disarms_the_whole_group_for_the_step() {
    // 0x1014..0x101C spans two doublewords: one group, a slot for each.
    let mut d = Toy::new(ToyArch::splitting());
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    let id = watch(&mut d, &mut cpu.env, 0x1014, 8, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    assert!(cpu.regs.installed.iter().all(Option::is_some));
    cpu.env.access = Some(write_access(0x1016, 2, AccessClass::Plain));

    let dsi = ToyStatus::DataMatch { dar: 0x1016 };
    let r = d.handle_exception(&user(T1, CPU0, 0x400), dsi, &mut cpu, &mut sink);
    assert_eq!(r.unwrap().action, ResumeAction::Step);
    assert_eq!(
        cpu.regs.installed,
        [None, None],
        "a slot of the group left armed could fire again during the step"
    );
    cpu.env.perform(0x66);
    trace(&mut d, T1, &mut cpu, CPU0, &mut sink);
    assert_eq!(sink.0.len(), 1);
    assert_eq!(sink.0[0].request, id);
    assert!(cpu.regs.installed.iter().all(Option::is_some));
}

#[test]
fn a_watch_disabled_during_its_step_is_neither_re_armed_nor_delivered() {
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    let id = watch(&mut d, &mut cpu.env, 0x1010, 4, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.env.access = Some(write_access(0x1010, 2, AccessClass::Plain));
    let dsi = ToyStatus::DataMatch { dar: 0x1010 };
    d.handle_exception(&user(T1, CPU0, 0x400), dsi, &mut cpu, &mut sink)
        .unwrap();
    assert!(d.pending[0].as_ref().is_some_and(|s| s.lone_slot.is_some()));

    d.disable(id).unwrap();
    cpu.env.perform(0x29);
    trace(&mut d, T1, &mut cpu, CPU0, &mut sink);
    assert!(sink.0.is_empty());
    assert_eq!(cpu.regs.installed[0], None, "its slot stays disarmed");
    assert!(!cpu.regs.single_step);
}

#[test]
fn an_exception_with_no_debug_cause_leaves_a_pending_step_alone() {
    // The stepped store takes a page fault first (a DSI without the match bit: no debug
    // cause). It is not the trace: the step stays pending and nothing is delivered yet.
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    watch(&mut d, &mut cpu.env, 0x1010, 4, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.env.access = Some(write_access(0x1010, 2, AccessClass::Plain));
    let dsi = ToyStatus::DataMatch { dar: 0x1010 };
    d.handle_exception(&user(T1, CPU0, 0x400), dsi, &mut cpu, &mut sink)
        .unwrap();

    let no_cause = ToyStatus::Exact {
        slots: 0,
        single_step: false,
    };
    let r = d
        .handle_exception(&user(T1, CPU0, 0x400), no_cause, &mut cpu, &mut sink)
        .unwrap();
    assert!(!r.claimed);
    assert_eq!(d.pending_step(T1), Some(0x400));
    assert!(sink.0.is_empty());

    cpu.env.perform(0x61);
    trace(&mut d, T1, &mut cpu, CPU0, &mut sink);
    assert_eq!(sink.0.len(), 1);
}
