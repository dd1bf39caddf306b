//! The Zenoh wire between planner and robot: schema, codecs, services, watchdog (issue 7).
