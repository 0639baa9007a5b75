"""Product Backlog Refinement: planning poker, and the backlog writes of its screen."""
