namespace Noisette.Bundles;

/// <summary>
/// What steers a conditional denoiser, and the rules of classifier-free guidance that come with it. Class labels
/// today (<see cref="ClassConditioner"/>); a text encoder would be another. A model without one has no conditioner.
/// </summary>
public interface IConditioner
{
    /// <summary>What a run folder records for it (config.json's <c>components.conditioner</c>), such as "classes".</summary>
    string Kind { get; }
    /// <summary>Whether the denoiser can also predict without a condition (a null condition), which guidance needs.</summary>
    bool HasNull { get; }
    /// <summary>
    /// The guidance scale when none is asked for: 2 where there is a null condition; 1 (plain conditional sampling)
    /// where there is none, such as an imported guided-diffusion model.
    /// </summary>
    double DefaultGuidance { get; }
    /// <summary>Checks a guidance scale for sampling with a condition; returns it.</summary>
    double CheckGuidance(double guidance);
    /// <summary>Refuses to sample without a condition a model that has no null condition to stand for "none".</summary>
    void CheckUnconditional();
}
