//! An arm's description, read from a URDF: the serial chain of revolute joints from the base link
//! to the tool point, the joints' limits, and each moving link's collision capsules and inertias.
//!
//! Links attached by fixed joints are merged into the moving link they hang from (Panda's
//! `panda_link8`, `panda_hand` and `panda_hand_tcp` into `panda_link7`). A `<cylinder>` collision
//! becomes the capsule of its axis and radius (the URDF puts spheres of the same radius on its
//! ends, so the capsule is what it describes); a `<sphere>` becomes a capsule of length zero.
//! Anything this cannot represent (another joint type on the chain, a moving joint off it, an
//! axis other than z, a mesh) is refused by name rather than dropped.

use std::collections::HashMap;

use super::frame::Frame;

/// The arm as the simulator and the kinematics need it.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmDescription {
    /// The revolute joints from the base outwards.
    pub joints: Vec<ArmJoint>,
    /// The fixed base link (index 0) and the link each joint moves (index `i + 1` for joint `i`).
    pub links: Vec<ArmLink>,
    /// The tool point in the last moving link's frame.
    pub last_from_tool: Frame,
}

/// One revolute joint about its frame's z axis.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmJoint {
    /// The URDF name, e.g. `panda_joint1`.
    pub name: String,
    /// The joint's frame in its parent link's frame at angle 0.
    pub parent_from_joint: Frame,
    /// Lowest angle, rad.
    pub lower_rad: f64,
    /// Highest angle, rad.
    pub upper_rad: f64,
    /// Speed limit, rad/s.
    pub max_speed_rad_per_s: f64,
    /// Torque limit, N·m.
    pub max_torque_nm: f64,
}

/// A rigid link with what fixed children were merged into it.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmLink {
    /// The URDF name of the link.
    pub name: String,
    /// Collision capsules in the link's frame.
    pub capsules: Vec<Capsule>,
    /// Masses and inertias in the link's frame.
    pub inertials: Vec<Inertial>,
}

/// The points within `radius` of the segment from `a` to `b` (metres, in a link's frame).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capsule {
    /// One end of the axis.
    pub a: [f64; 3],
    /// The other end of the axis.
    pub b: [f64; 3],
    /// Radius, metres.
    pub radius: f64,
}

/// A URDF `<inertial>`: a body's mass and its inertia about its centre of mass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inertial {
    /// Mass, kg.
    pub mass_kg: f64,
    /// The centre of mass and the inertia's axes, in the link's frame.
    pub link_from_com: Frame,
    /// `ixx, ixy, ixz, iyy, iyz, izz` about the centre of mass, kg·m².
    pub inertia: [f64; 6],
}

/// Why a URDF was refused.
#[derive(Debug, thiserror::Error)]
pub enum DescriptionError {
    /// The text is not XML.
    #[error("the URDF is not XML: {0}")]
    Xml(String),
    /// An element is missing, malformed or not supported.
    #[error("URDF {element}: {problem}")]
    Invalid {
        /// The element, e.g. `joint "panda_joint4" <limit>`.
        element: String,
        /// What is wrong and what would fix it.
        problem: String,
    },
}

fn invalid(element: impl Into<String>, problem: impl Into<String>) -> DescriptionError {
    DescriptionError::Invalid { element: element.into(), problem: problem.into() }
}

/// A joint as the URDF states it.
struct UrdfJoint<'a> {
    name: &'a str,
    kind: &'a str,
    parent: &'a str,
    child: &'a str,
    node: roxmltree::Node<'a, 'a>,
}

impl ArmDescription {
    /// Reads the chain from the URDF's root link to `tool_link`.
    ///
    /// # Errors
    /// Malformed XML, a missing or malformed element, or a structure the arm cannot represent;
    /// the error names the element.
    pub fn from_urdf(text: &str, tool_link: &str) -> Result<Self, DescriptionError> {
        let document = roxmltree::Document::parse(text).map_err(|e| DescriptionError::Xml(e.to_string()))?;
        let robot = document.root_element();
        if robot.tag_name().name() != "robot" {
            return Err(invalid("root element", format!("is <{}>, a URDF's is <robot>", robot.tag_name().name())));
        }
        let mut links = HashMap::new();
        for node in robot.children().filter(|n| n.has_tag_name("link")) {
            let name = attribute(node, "name", "<link>")?;
            if links.insert(name, node).is_some() {
                return Err(invalid(format!("link \"{name}\""), "appears twice"));
            }
        }
        let mut joints = Vec::new();
        for node in robot.children().filter(|n| n.has_tag_name("joint")) {
            let name = attribute(node, "name", "<joint>")?;
            let element = format!("joint \"{name}\"");
            let kind = attribute(node, "type", &element)?;
            let parent = attribute(child(node, "parent", &element)?, "link", &element)?;
            let child_link = attribute(child(node, "child", &element)?, "link", &element)?;
            for link in [parent, child_link] {
                if !links.contains_key(link) {
                    return Err(invalid(&element, format!("names link \"{link}\", which the URDF does not define")));
                }
            }
            joints.push(UrdfJoint { name, kind, parent, child: child_link, node });
        }
        let chain = chain_to(&joints, tool_link, &links)?;
        build(&chain, &joints, &links)
    }
}

/// The joints from the root link to `tool_link`, in order.
fn chain_to<'a, 'b>(
    joints: &'b [UrdfJoint<'a>],
    tool_link: &str,
    links: &HashMap<&str, roxmltree::Node>,
) -> Result<Vec<&'b UrdfJoint<'a>>, DescriptionError> {
    if !links.contains_key(tool_link) {
        return Err(invalid(format!("tool link \"{tool_link}\""), "is not a link of the URDF"));
    }
    let mut chain = Vec::new();
    let mut link = tool_link;
    while let Some(joint) = joints.iter().find(|j| j.child == link) {
        if chain.len() > joints.len() {
            return Err(invalid(format!("joint \"{}\"", joint.name), "closes a loop; an arm is a tree"));
        }
        chain.push(joint);
        link = joint.parent;
    }
    chain.reverse();
    Ok(chain)
}

/// The description of `chain`, with fixed subtrees merged into their moving links.
fn build(
    chain: &[&UrdfJoint],
    joints: &[UrdfJoint],
    links: &HashMap<&str, roxmltree::Node>,
) -> Result<ArmDescription, DescriptionError> {
    let root = chain.first().map_or("", |j| j.parent);
    let mut arm_links = vec![ArmLink { name: root.to_owned(), capsules: Vec::new(), inertials: Vec::new() }];
    let mut arm_joints = Vec::new();
    // The frame of the link being walked, in the frame of the moving link it is merged into.
    let mut moving_from_link = Frame::IDENTITY;
    let on_chain: Vec<&str> = chain.iter().map(|j| j.child).collect();
    for joint in chain {
        let element = format!("joint \"{}\"", joint.name);
        let parent_from_joint = moving_from_link.then(&origin(joint.node, &element)?);
        match joint.kind {
            "fixed" => moving_from_link = parent_from_joint,
            "revolute" => {
                arm_joints.push(revolute(joint, parent_from_joint)?);
                arm_links.push(ArmLink { name: joint.child.to_owned(), capsules: Vec::new(), inertials: Vec::new() });
                moving_from_link = Frame::IDENTITY;
            }
            other => {
                return Err(invalid(
                    element,
                    format!("is {other}; the arm's chain holds revolute and fixed joints only"),
                ));
            }
        }
        let last = arm_links.last_mut().expect("the base link is always there");
        merge_link(links[joint.child], moving_from_link, last)?;
        // Fixed branches off the chain (a camera mount, say) ride on this link; moving ones are
        // refused, since dropping them would drop what they may collide with.
        merge_branches(joint.child, moving_from_link, &on_chain, joints, links, last)?;
    }
    let root_link = arm_links.first_mut().expect("the base link is always there");
    merge_link(links[root], Frame::IDENTITY, root_link)?;
    merge_branches(root, Frame::IDENTITY, &on_chain, joints, links, root_link)?;
    if arm_joints.is_empty() {
        return Err(invalid(format!("link \"{root}\""), "no revolute joint leads from it to the tool link"));
    }
    Ok(ArmDescription { joints: arm_joints, links: arm_links, last_from_tool: moving_from_link })
}

/// Merges the subtrees hanging off `link` by joints not on the chain into `into`.
fn merge_branches(
    link: &str,
    moving_from_link: Frame,
    on_chain: &[&str],
    joints: &[UrdfJoint],
    links: &HashMap<&str, roxmltree::Node>,
    into: &mut ArmLink,
) -> Result<(), DescriptionError> {
    for joint in joints.iter().filter(|j| j.parent == link && !on_chain.contains(&j.child)) {
        let element = format!("joint \"{}\"", joint.name);
        if joint.kind != "fixed" {
            return Err(invalid(
                element,
                format!(
                    "is {} and off the chain to the tool link; the arm cannot move it (remove it, or make it fixed)",
                    joint.kind
                ),
            ));
        }
        let frame = moving_from_link.then(&origin(joint.node, &element)?);
        merge_link(links[joint.child], frame, into)?;
        merge_branches(joint.child, frame, on_chain, joints, links, into)?;
    }
    Ok(())
}

fn revolute(joint: &UrdfJoint, parent_from_joint: Frame) -> Result<ArmJoint, DescriptionError> {
    let element = format!("joint \"{}\"", joint.name);
    if let Some(axis) = joint.node.children().find(|n| n.has_tag_name("axis")) {
        let xyz = triple(axis, "xyz", &element)?.unwrap_or([1.0, 0.0, 0.0]);
        if xyz.iter().zip([0.0, 0.0, 1.0]).any(|(got, z)| (got - z).abs() > 1e-12) {
            return Err(invalid(element, format!("turns about {xyz:?}; only z axes (0 0 1) are supported")));
        }
    } else {
        return Err(invalid(element, "has no <axis>; URDF's default is x, only z (0 0 1) is supported"));
    }
    let limit_element = format!("{element} <limit>");
    let limit = child(joint.node, "limit", &element)?;
    let finite = |name: &str| number(limit, name, &element, "a finite number", |_| true);
    let (lower_rad, upper_rad) = (finite("lower")?, finite("upper")?);
    let (max_speed_rad_per_s, max_torque_nm) = (finite("velocity")?, finite("effort")?);
    if lower_rad >= upper_rad {
        return Err(invalid(limit_element, format!("lower {lower_rad} is not below upper {upper_rad}")));
    }
    if max_speed_rad_per_s <= 0.0 || max_torque_nm <= 0.0 {
        return Err(invalid(limit_element, "velocity and effort must be positive"));
    }
    Ok(ArmJoint {
        name: joint.name.to_owned(),
        parent_from_joint,
        lower_rad,
        upper_rad,
        max_speed_rad_per_s,
        max_torque_nm,
    })
}

/// Adds `node`'s collisions and inertial, placed by `into_from_link`, to `into`.
fn merge_link(node: roxmltree::Node, into_from_link: Frame, into: &mut ArmLink) -> Result<(), DescriptionError> {
    let name = node.attribute("name").unwrap_or_default();
    let element = format!("link \"{name}\"");
    for collision in node.children().filter(|n| n.has_tag_name("collision")) {
        let frame = into_from_link.then(&origin(collision, &element)?);
        let geometry = child(collision, "geometry", &element)?;
        let shape = geometry
            .children()
            .find(roxmltree::Node::is_element)
            .ok_or_else(|| invalid(&element, "a <collision> has an empty <geometry>"))?;
        let positive = |name: &str| number(shape, name, &element, "a positive number", |v| v > 0.0);
        let capsule = match shape.tag_name().name() {
            "sphere" => Capsule { a: frame.translation, b: frame.translation, radius: positive("radius")? },
            "cylinder" => {
                let half = positive("length")? / 2.0;
                Capsule {
                    a: frame.apply([0.0, 0.0, -half]),
                    b: frame.apply([0.0, 0.0, half]),
                    radius: positive("radius")?,
                }
            }
            other => {
                return Err(invalid(
                    &element,
                    format!(
                        "a <{other}> collision; only spheres and cylinders are supported (use panda_collision.urdf's shapes, not meshes)"
                    ),
                ));
            }
        };
        into.capsules.push(capsule);
    }
    if let Some(inertial) = node.children().find(|n| n.has_tag_name("inertial")) {
        let element = format!("{element} <inertial>");
        let mass = child(inertial, "mass", &element)?;
        let mass_kg = number(mass, "value", &element, "a mass (kg, ≥ 0)", |v| v >= 0.0)?;
        let tensor = child(inertial, "inertia", &element)?;
        let mut inertia = [0.0; 6];
        for (value, name) in inertia.iter_mut().zip(["ixx", "ixy", "ixz", "iyy", "iyz", "izz"]) {
            *value = number(tensor, name, &element, "a finite number", |_| true)?;
        }
        if mass_kg > 0.0 {
            into.inertials.push(Inertial {
                mass_kg,
                link_from_com: into_from_link.then(&origin(inertial, &element)?),
                inertia,
            });
        }
    }
    Ok(())
}

/// The `<origin>` child of `node` (identity when absent, as URDF says).
fn origin(node: roxmltree::Node, element: &str) -> Result<Frame, DescriptionError> {
    let Some(origin) = node.children().find(|n| n.has_tag_name("origin")) else {
        return Ok(Frame::IDENTITY);
    };
    let element = format!("{element} <origin>");
    Ok(Frame::from_xyz_rpy(
        triple(origin, "xyz", &element)?.unwrap_or_default(),
        triple(origin, "rpy", &element)?.unwrap_or_default(),
    ))
}

/// Three numbers in attribute `name`, if present.
fn triple(node: roxmltree::Node, name: &str, element: &str) -> Result<Option<[f64; 3]>, DescriptionError> {
    let Some(text) = node.attribute(name) else { return Ok(None) };
    let values: Vec<f64> =
        text.split_whitespace().filter_map(|v| v.parse::<f64>().ok()).filter(|v| v.is_finite()).collect();
    match values[..] {
        [x, y, z] if text.split_whitespace().count() == 3 => Ok(Some([x, y, z])),
        _ => Err(invalid(element, format!("{name}=\"{text}\" is not three finite numbers"))),
    }
}

/// Attribute `name` of `node` as a finite number that `accept`s, else an error naming `element`,
/// the attribute, its text and `what` it should be.
fn number(
    node: roxmltree::Node,
    name: &str,
    element: &str,
    what: &str,
    accept: impl Fn(f64) -> bool,
) -> Result<f64, DescriptionError> {
    let text = attribute(node, name, element)?;
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && accept(*v))
        .ok_or_else(|| invalid(element, format!("<{}> {name}=\"{text}\" is not {what}", node.tag_name().name())))
}

fn child<'a>(
    node: roxmltree::Node<'a, 'a>,
    tag: &str,
    element: &str,
) -> Result<roxmltree::Node<'a, 'a>, DescriptionError> {
    node.children().find(|n| n.has_tag_name(tag)).ok_or_else(|| invalid(element, format!("has no <{tag}>")))
}

fn attribute<'a>(node: roxmltree::Node<'a, 'a>, name: &str, element: &str) -> Result<&'a str, DescriptionError> {
    node.attribute(name).ok_or_else(|| invalid(element, format!("<{}> has no {name}=\"…\"", node.tag_name().name())))
}

#[cfg(test)]
mod tests {
    use super::super::{PANDA_TOOL_LINK, PANDA_URDF, franka_panda};
    use super::*;

    fn refusal(text: &str, tool: &str) -> String {
        ArmDescription::from_urdf(text, tool).expect_err("refused").to_string()
    }

    #[test]
    fn the_committed_panda_is_seven_revolute_joints_to_the_tool_point() {
        let arm = franka_panda();
        let names: Vec<&str> = arm.joints.iter().map(|j| j.name.as_str()).collect();
        assert_eq!(names, (1..=7).map(|i| format!("panda_joint{i}")).collect::<Vec<_>>());
        assert_eq!(arm.links.len(), 8);
        // link0 … link6 three shapes each, link5 six; link7 six plus the hand's three.
        let shapes: Vec<usize> = arm.links.iter().map(|l| l.capsules.len()).collect();
        assert_eq!(shapes, [3, 3, 3, 3, 3, 6, 3, 9]);
        // The tool point: link8 0.107 m along link7's z, the hand turned −π/4, the tcp 0.1034 m on.
        let tool = arm.last_from_tool;
        assert!((tool.translation[2] - 0.2104).abs() < 1e-12 && tool.translation[0].abs() < 1e-12);
        // link7 carries its own mass and the hand's.
        let masses: Vec<f64> = arm.links[7].inertials.iter().map(|i| i.mass_kg).collect();
        assert_eq!(masses, [0.735_522, 0.73]);
    }

    #[test]
    fn what_the_arm_cannot_represent_is_refused_by_name() {
        let cases = [
            (PANDA_URDF.replace("lower=\"-3.0718\" upper=\"-0.0698\"", "lower=\"-0.0698\" upper=\"-3.0718\""), PANDA_TOOL_LINK, "joint \"panda_joint4\" <limit>: lower -0.0698 is not below upper -3.0718"),
            (PANDA_URDF.replacen("<sphere radius=\"0.09\"/>", "<sphere radius=\"-0.09\"/>", 1), PANDA_TOOL_LINK, "link \"panda_link0\": <sphere> radius=\"-0.09\" is not a positive number"),
            (PANDA_URDF.to_owned(), "panda_gripper", "tool link \"panda_gripper\": is not a link of the URDF"),
            (PANDA_URDF.replacen("<axis xyz=\"0 0 1\"/>", "<axis xyz=\"1 0 0\"/>", 1), PANDA_TOOL_LINK, "joint \"panda_joint1\": turns about [1.0, 0.0, 0.0]"),
            (PANDA_URDF.replacen("<sphere radius=\"0.09\"/>", "<mesh filename=\"link0.stl\"/>", 1), PANDA_TOOL_LINK, "link \"panda_link0\": a <mesh> collision"),
            (PANDA_URDF.replacen("type=\"revolute\"", "type=\"continuous\"", 1), PANDA_TOOL_LINK, "joint \"panda_joint1\": is continuous"),
            (PANDA_URDF.replacen("<limit effort=\"87.0\"", "<limit effort=\"nan\"", 1), PANDA_TOOL_LINK, "effort=\"nan\" is not a finite number"),
            (PANDA_URDF.replace("</robot>", "<link name=\"finger\"/><joint name=\"finger_joint\" type=\"prismatic\"><parent link=\"panda_hand\"/><child link=\"finger\"/></joint></robot>"), PANDA_TOOL_LINK, "joint \"finger_joint\": is prismatic and off the chain"),
            (PANDA_URDF.replace("<child link=\"panda_link3\"/>", "<child link=\"panda_link9\"/>"), PANDA_TOOL_LINK, "joint \"panda_joint3\": names link \"panda_link9\""),
            ("<robot><link name=\"a\">".to_owned(), "a", "the URDF is not XML"),
        ];
        for (text, tool, expected) in cases {
            let message = refusal(&text, tool);
            assert!(message.contains(expected), "expected {expected:?} in {message:?}");
        }
    }
}
