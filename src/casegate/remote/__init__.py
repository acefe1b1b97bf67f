"""Remote case types: this casegate (the consumer) creates and works cases on another (the
producer) for its own operators, through the JWT bearer grant."""
