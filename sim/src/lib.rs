//! Rapier environments, scripted experts, D4RL-format datasets and scoring (issue 4).
