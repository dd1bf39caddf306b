//! Models from other programs: a pickle reader that runs nothing ([`pickle`]), files written by
//! `torch.save` ([`torch_file`]), jannerm/diffuser's checkpoints ([`diffuser`]) and the
//! normalizer Diffuser fits to its data ([`diffuser_data`]).

pub mod diffuser;
pub mod diffuser_data;
pub mod pickle;
pub mod torch_file;
