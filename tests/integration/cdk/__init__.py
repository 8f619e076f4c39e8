"""Tests of the AWS CDK construct against a real engine and a real synth."""
