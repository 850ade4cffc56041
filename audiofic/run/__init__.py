"""Running the pipeline: the plan, a work's folder, rendering, scheduling, shelves and clusters."""
