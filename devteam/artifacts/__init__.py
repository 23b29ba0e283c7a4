"""The documents the roles hand each other (PRD, design, file plan) and the checks on them."""
