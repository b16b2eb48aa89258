namespace Noisette.Runs;

/// <summary>The run a fine-tune starts from: its folder's name (for messages) and its configuration.</summary>
public sealed record FineTuneSource(string Name, TrainingConfig Config);
