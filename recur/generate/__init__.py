"""Generation: drawing tokens, the fast one-token stepper, beam search, conditions and
bounded documents."""
