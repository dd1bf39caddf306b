"""Forward kinematics of the Panda by MuJoCo, an engine independent of diffplan's own.

MuJoCo parses the committed URDF itself (assets/panda/panda.urdf), so a transcription error in
diffplan's reader or chain shows as a difference. Reads JSON {"urdf": path, "configurations":
[[q1..q7], ...]} on stdin; writes JSON {"bodies": [names], "poses": [[[x, y, z, qw, qx, qy, qz]
per body] per configuration], "capsules": [[[ax, ay, az, bx, by, bz, radius] per collision
geometry] per configuration]} on stdout: each body frame's pose in the base frame (metres, unit
quaternion), and each sphere or cylinder as the capsule of its axis (a sphere's ends coincide).
"""

import json
import sys

import mujoco

BODIES = [f"panda_link{i}" for i in range(1, 9)] + ["panda_hand", "panda_hand_tcp"]


def main() -> None:
    request = json.load(sys.stdin)
    with open(request["urdf"]) as f:
        text = f.read()
    spec = mujoco.MjSpec.from_string(text)
    # Keep the fixed links (link8, hand, tcp) as bodies of their own instead of fusing them.
    spec.compiler.fusestatic = False
    model = spec.compile()
    data = mujoco.MjData(model)
    joints = [model.joint(f"panda_joint{i}") for i in range(1, 8)]
    poses = []
    capsules = []
    for q in request["configurations"]:
        for joint, angle in zip(joints, q, strict=True):
            data.qpos[joint.qposadr[0]] = angle
        mujoco.mj_kinematics(model, data)
        row = []
        for name in BODIES:
            body = data.body(name)
            row.append([*map(float, body.xpos), *map(float, body.xquat)])
        poses.append(row)
        capsules.append([geom_capsule(model, data, g) for g in range(model.ngeom)])
    json.dump({"bodies": BODIES, "poses": poses, "capsules": capsules}, sys.stdout)


def geom_capsule(model, data, g: int) -> list[float]:
    """A sphere or cylinder geom as its axis's ends and its radius, in the world frame."""
    centre = data.geom_xpos[g]
    axis = data.geom_xmat[g].reshape(3, 3)[:, 2]
    kind = model.geom_type[g]
    if kind == mujoco.mjtGeom.mjGEOM_SPHERE:
        half = 0.0
    elif kind == mujoco.mjtGeom.mjGEOM_CYLINDER:
        half = model.geom_size[g][1]
    else:
        raise SystemExit(f"geom {g} is of type {kind}; the Panda's collisions are spheres and cylinders")
    a, b = centre - half * axis, centre + half * axis
    return [*map(float, a), *map(float, b), float(model.geom_size[g][0])]


if __name__ == "__main__":
    main()
