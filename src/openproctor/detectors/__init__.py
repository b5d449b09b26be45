"""Detection engine: one module per model, a typed result per frame, an Analyzer that runs them.

Start at analyzer.py (the pipeline and the flags a single frame raises), base.py (the plugin
interface and result types) and catalog.py (every model file, its licence and sha256). This
package imports nothing heavy here, so settings can import detectors.config cheaply.
"""
