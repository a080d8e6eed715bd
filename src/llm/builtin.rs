//! (built-in model: to come)
