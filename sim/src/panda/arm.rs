//! The arm on Rapier: a multibody on a fixed base, one joint position servo per joint.
//!
//! Each moving link is a dynamic body with the URDF's masses and inertias (fixed children merged)
//! and its collision capsules; its joint is a multibody joint whose free axis is the URDF's z.
//! Rapier's revolute axis is the x axis of the joint frame, so both joint frames are turned by B
//! (x onto z): `parent_from_child = parent_from_joint · B · Rx(q) · B⁻¹ = parent_from_joint ·
//! Rz(q)`, the URDF's chain. Self-contacts are off (the Panda's capsules overlap at neighbouring
//! links in ordinary poses, as franka_ros's SRDF says by disabling those pairs).
//!
//! Servos: Rapier's force-based joint motor, τ = kp (q* − q) + kd (q̇* − q̇), clamped to the
//! joint's torque limit, solved implicitly at every physics step (`PHYSICS_DT_SECS`). Gains are
//! MuJoCo Menagerie's Panda servo gains. The arm's links feel no gravity: Franka's controller
//! compensates gravity, and a joint servo on a compensated arm sees none.

use rapier3d::prelude::*;

use super::description::{ArmDescription, Capsule, Inertial};
use super::frame::Frame;
use super::interpolation::{CubicSegment, Interpolation};

/// Seconds per physics step (500 Hz).
pub const PHYSICS_DT_SECS: f64 = 0.002;
/// Servo stiffness per joint, N·m/rad (MuJoCo Menagerie's `franka_emika_panda` actuators).
pub const SERVO_STIFFNESS_NM_PER_RAD: [f32; 7] = [4500.0, 4500.0, 3500.0, 3500.0, 2000.0, 2000.0, 2000.0];
/// Servo damping per joint, N·m·s/rad (a tenth of the stiffness).
pub const SERVO_DAMPING_NM_S_PER_RAD: [f32; 7] = [450.0, 450.0, 350.0, 350.0, 200.0, 200.0, 200.0];

/// A Panda-like arm simulated by Rapier.
pub struct Arm {
    world: PhysicsWorld,
    /// The fixed base's body, then each moving link's.
    bodies: Vec<RigidBodyHandle>,
    /// Each joint's handle, base outwards.
    joints: Vec<MultibodyJointHandle>,
    /// Physics steps per [`Arm::step`].
    substeps: usize,
    /// The servos' target at the end of the last step, rad.
    target: Vec<f64>,
    /// The servos' target speed at the end of the last step, rad/s.
    target_speed: Vec<f64>,
    /// How the target moves between points.
    interpolation: Interpolation,
}

impl Arm {
    /// The arm of `description` at joint angles 0, at rest; each [`Arm::step`] lasts
    /// `control_dt_secs` (a whole number of physics steps).
    ///
    /// # Panics
    /// If `control_dt_secs` is not a positive multiple of [`PHYSICS_DT_SECS`], or the
    /// description has more joints than the servo gain tables.
    #[must_use]
    pub fn new(description: &ArmDescription, control_dt_secs: f64) -> Self {
        let substeps = (control_dt_secs / PHYSICS_DT_SECS).round();
        assert!(
            substeps >= 1.0 && (substeps * PHYSICS_DT_SECS - control_dt_secs).abs() < 1e-9,
            "the control step must be a multiple of {PHYSICS_DT_SECS} s"
        );
        assert!(description.joints.len() <= SERVO_STIFFNESS_NM_PER_RAD.len(), "servo gains exist for 7 joints");
        let mut world = PhysicsWorld { gravity: Vector::new(0.0, 0.0, -9.81), ..PhysicsWorld::default() };
        world.integration_parameters.dt = PHYSICS_DT_SECS as f32;
        let base = world.insert_body(RigidBodyBuilder::fixed());
        for capsule in &description.links[0].capsules {
            world.insert_collider(collider(capsule), Some(base));
        }
        let mut bodies = vec![base];
        let mut joints = Vec::new();
        for (index, (joint, link)) in description.joints.iter().zip(&description.links[1..]).enumerate() {
            let mass = mass_properties(&link.inertials);
            let body =
                world.insert_body(RigidBodyBuilder::dynamic().gravity_scale(0.0).additional_mass_properties(mass));
            for capsule in &link.capsules {
                world.insert_collider(collider(capsule), Some(body));
            }
            let turn = GenericJoint::complete_ang_frame(Vector::Z);
            let servo = GenericJointBuilder::new(JointAxesMask::LOCKED_REVOLUTE_AXES)
                .local_frame1(pose(&joint.parent_from_joint) * Pose::from_rotation(turn))
                .local_frame2(Pose::from_rotation(turn))
                .motor_model(JointAxis::AngX, MotorModel::ForceBased)
                .set_motor(
                    JointAxis::AngX,
                    0.0,
                    0.0,
                    SERVO_STIFFNESS_NM_PER_RAD[index],
                    SERVO_DAMPING_NM_S_PER_RAD[index],
                )
                .motor_max_force(JointAxis::AngX, joint.max_torque_nm as f32);
            joints.push(world.insert_multibody_joint(bodies[index], body, servo).expect("a serial chain has no loops"));
            bodies.push(body);
        }
        if let Some((multibody, _)) = joints.first().and_then(|h| world.multibody_joints.get_mut(*h)) {
            multibody.set_self_contacts_enabled(false);
            // Settles the fixed root (no degrees of freedom of its own) before anything reads
            // the coordinates.
            multibody.forward_kinematics(&world.bodies, true);
        }
        let (target, target_speed) = (vec![0.0; joints.len()], vec![0.0; joints.len()]);
        let interpolation = Interpolation::default();
        Self { world, bodies, joints, substeps: substeps as usize, target, target_speed, interpolation }
    }

    /// The same arm moving its servos' target between points by `interpolation`.
    #[must_use]
    pub fn with_interpolation(mut self, interpolation: Interpolation) -> Self {
        self.interpolation = interpolation;
        self
    }

    /// Puts the arm at joint angles `q` (rad), at rest, with the servos holding there.
    ///
    /// # Panics
    /// If `q` does not hold one angle per joint.
    pub fn set_configuration(&mut self, q: &[f64]) {
        assert_eq!(q.len(), self.joints.len(), "one angle per joint");
        let now = self.joint_positions();
        let links: Vec<usize> =
            self.joints.iter().filter_map(|h| self.world.multibody_joints.get(*h)).map(|(_, link)| link).collect();
        let Some((multibody, _)) = self.joints.first().and_then(|h| self.world.multibody_joints.get_mut(*h)) else {
            return;
        };
        // Multibodies start at q = 0; Rapier moves them by displacements of the coordinates, one
        // slot per degree of freedom at each link's assembly offset.
        let mut displacement = vec![0.0_f32; multibody.ndofs()];
        for ((link, target), at) in links.iter().zip(q).zip(&now) {
            let offset = multibody.link(*link).expect("a joint's link is in its multibody").assembly_id();
            displacement[offset] = (target - at) as f32;
        }
        multibody.apply_displacements(&displacement);
        multibody.forward_kinematics(&self.world.bodies, false);
        multibody.update_rigid_bodies(&mut self.world.bodies, true);
        multibody.generalized_velocity_mut().fill(0.0);
        self.target = q.to_vec();
        self.target_speed = vec![0.0; q.len()];
        self.command(q, &vec![0.0; q.len()]);
    }

    /// Advances one control step to the trajectory point `target_q` (rad) at `target_qdot`
    /// (rad/s): as a joint trajectory controller does at its own rate, the servos' target and
    /// target speed move from the last step's point to this one by the arm's [`Interpolation`],
    /// sampled at every physics step. `after_physics_step` sees the joint
    /// angles after every physics step (what a collision check between control steps needs).
    ///
    /// # Panics
    /// If either does not hold one value per joint.
    pub fn step(&mut self, target_q: &[f64], target_qdot: &[f64], mut after_physics_step: impl FnMut(&[f64])) {
        let from = std::mem::replace(&mut self.target, target_q.to_vec());
        let from_speed = std::mem::replace(&mut self.target_speed, target_qdot.to_vec());
        let segment = CubicSegment {
            from: (&from, &from_speed),
            to: (target_q, target_qdot),
            duration_secs: self.substeps as f64 * PHYSICS_DT_SECS,
        };
        for substep in 1..=self.substeps {
            let (along, speed) = match self.interpolation {
                Interpolation::Cubic => segment.at(substep as f64 * PHYSICS_DT_SECS),
                Interpolation::Linear => {
                    let share = substep as f64 / self.substeps as f64;
                    (from.iter().zip(target_q).map(|(a, b)| a + share * (b - a)).collect(), target_qdot.to_vec())
                }
            };
            self.command(&along, &speed);
            self.world.step();
            after_physics_step(&self.joint_positions());
        }
    }

    fn command(&mut self, target_q: &[f64], target_qdot: &[f64]) {
        assert_eq!(target_q.len(), self.joints.len(), "one target angle per joint");
        assert_eq!(target_qdot.len(), self.joints.len(), "one target speed per joint");
        for (index, handle) in self.joints.iter().enumerate() {
            if let Some((multibody, link)) = self.world.multibody_joints.get_mut(*handle)
                && let Some(link) = multibody.link_mut(link)
            {
                link.joint.data.set_motor(
                    JointAxis::AngX,
                    target_q[index] as f32,
                    target_qdot[index] as f32,
                    SERVO_STIFFNESS_NM_PER_RAD[index],
                    SERVO_DAMPING_NM_S_PER_RAD[index],
                );
            }
        }
        for body in &self.bodies[1..] {
            self.world.wake_up(*body, true);
        }
    }

    /// Joint angles, rad.
    #[must_use]
    pub fn joint_positions(&self) -> Vec<f64> {
        self.joint_links().map(|(_, link)| f64::from(link.joint().coords()[3])).collect()
    }

    /// Joint speeds, rad/s.
    #[must_use]
    pub fn joint_velocities(&self) -> Vec<f64> {
        self.joint_links().map(|(multibody, link)| f64::from(multibody.joint_velocity(link)[0])).collect()
    }

    /// Each joint's multibody and the link it moves, base outwards.
    fn joint_links(&self) -> impl Iterator<Item = (&Multibody, &MultibodyLink)> {
        self.joints.iter().map(|handle| {
            let (multibody, id) = self.world.multibody_joints.get(*handle).expect("the arm's joints stay inserted");
            (multibody, multibody.link(id).expect("a joint's link is in its multibody"))
        })
    }

    /// Each moving link's frame in the world (the base's frame), as Rapier has it.
    #[must_use]
    pub fn link_frames(&self) -> Vec<Frame> {
        self.bodies[1..].iter().map(|body| frame(self.world.bodies[*body].position())).collect()
    }
}

/// A Rapier pose of a [`Frame`] (rounded to f32).
fn pose(frame: &Frame) -> Pose {
    let [w, x, y, z] = frame.quaternion();
    let t = frame.translation;
    Pose::from_parts(
        Vector::new(t[0] as f32, t[1] as f32, t[2] as f32),
        Rotation::from_xyzw(x as f32, y as f32, z as f32, w as f32).normalize(),
    )
}

/// A [`Frame`] of a Rapier pose.
fn frame(pose: &Pose) -> Frame {
    let r = glam_to_rows(pose.rotation);
    let t = pose.translation;
    Frame { rotation: r, translation: [f64::from(t.x), f64::from(t.y), f64::from(t.z)] }
}

fn glam_to_rows(rotation: Rotation) -> [[f64; 3]; 3] {
    let columns = [rotation * Vector::X, rotation * Vector::Y, rotation * Vector::Z];
    std::array::from_fn(|i| std::array::from_fn(|j| f64::from(columns[j][i])))
}

/// A link's inertials as one Rapier mass property, in the link's frame.
fn mass_properties(inertials: &[Inertial]) -> MassProperties {
    inertials
        .iter()
        .map(|inertial| {
            let [xx, xy, xz, yy, yz, zz] = inertial.inertia.map(|v| v as f32);
            let inertia = Matrix::from_cols(Vector::new(xx, xy, xz), Vector::new(xy, yy, yz), Vector::new(xz, yz, zz));
            let at_com = MassProperties::with_inertia_matrix(Vector::ZERO, inertial.mass_kg as f32, inertia);
            at_com.transform_by(&pose(&inertial.link_from_com))
        })
        .sum()
}

/// A capsule (a ball when its ends coincide) that adds no mass: the URDF's inertials do.
fn collider(capsule: &Capsule) -> ColliderBuilder {
    let [a, b] = [capsule.a, capsule.b].map(|p| Vector::new(p[0] as f32, p[1] as f32, p[2] as f32));
    let shape = if a == b {
        ColliderBuilder::ball(capsule.radius as f32).translation(a)
    } else {
        ColliderBuilder::capsule_from_endpoints(a, b, capsule.radius as f32)
    };
    shape.density(0.0)
}
