"""Static files shipped with Mark-1, loaded with importlib.resources."""
