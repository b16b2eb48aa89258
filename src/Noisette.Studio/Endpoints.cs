using System.Globalization;
using Noisette.Data;
using Noisette.IO;
using Noisette.Pipelines;
using Noisette.Runs;
using Noisette.Sampling;

namespace Noisette.Studio;

/// <summary>The studio's HTTP surface: the page, its scripts, the JSON API and the event stream.</summary>
public static class Endpoints
{
    /// <summary>Where the page loads the event and phase names from (<see cref="StudioEvents.NamesModule"/>).</summary>
    public const string NamesModulePath = "/js/names.js";

    public static void Map(WebApplication app)
    {
        MapPage(app);
        MapDatasets(app);
        MapRuns(app);
        MapGeneration(app);
        app.MapGet("/api/events", (HttpContext ctx, EventHub hub, IHostApplicationLifetime life) => hub.StreamAsync(ctx, life.ApplicationStopping));
    }

    private static void MapPage(WebApplication app)
    {
        var index = StudioHost.WebFile("index.html");
        var style = StudioHost.WebFile("app.css");
        app.MapGet("/", (StudioOptions o) => Results.Content(index.Replace("{{TOKEN}}", o.Token, StringComparison.Ordinal), "text/html; charset=utf-8"));
        app.MapGet("/app.css", () => Results.Content(style, "text/css; charset=utf-8"));
        // The page's code is ES modules, each served at its path under Web/ (app.js, js/…); js/names.js is written
        // from StudioEvents, so the page reads the event and phase names the server publishes with.
        const string javaScript = "text/javascript; charset=utf-8";
        foreach (var file in StudioHost.WebFiles.Keys.Where(f => f.EndsWith(".js", StringComparison.Ordinal)))
        {
            var script = StudioHost.WebFile(file);
            app.MapGet("/" + file, () => Results.Content(script, javaScript));
        }
        var names = StudioEvents.NamesModule();
        app.MapGet(NamesModulePath, () => Results.Content(names, javaScript));
        app.MapGet("/api/state", (Workspace ws, TrainingQueue queue, RunCatalog runs) => Results.Json(new
        {
            workspace = ws.Root,
            presets = StudioPresets.All(runs.MeasuredSpeeds()),
            samplers = Samplers.Names,
            defaultSampler = Samplers.Default,
            untilStopped = TrainingQueue.UntilStopped,
            cores = Environment.ProcessorCount,
            queue = queue.Snapshot(),
            editAvailable = true,
        }));
    }

    // ---------------------------------------------------------------- datasets

    private static void MapDatasets(WebApplication app)
    {
        app.MapGet("/api/datasets", (DatasetCatalog c) => Results.Json(c.List()));

        app.MapPost("/api/datasets/add", async (HttpRequest req, DatasetCatalog c, EventHub hub) =>
        {
            var f = await FormFields.ReadAsync(req);
            var entry = c.Add(f.Optional("path"), f.Optional("name"));
            hub.Publish(new DatasetChanged(entry.Name));
            return Results.Json(entry);
        });

        app.MapPost("/api/datasets/upload", async (HttpRequest req, DatasetCatalog c, DatasetUpload upload, EventHub hub, StudioOptions o) =>
        {
            if (req.ContentLength > o.MaxUploadBytes)
                throw new StudioError(StatusCodes.Status413PayloadTooLarge, $"files: the upload is larger than the studio accepts ({o.MaxUploadBytes >> 20} MB)", "files");
            var f = await FormFields.ReadAsync(req);
            var name = Workspace.CheckName(f.Optional("name"), "name");
            if (c.Exists(name)) throw StudioError.BadField("name", $"a dataset named '{name}' already exists");
            var files = f.Form.Files.Select(file => (file.FileName, (Func<Stream>)file.OpenReadStream)).ToList();
            var result = upload.Save(name, files, req.ContentLength ?? 0);
            hub.Publish(new DatasetChanged(name));
            return Results.Json(result);
        });

        app.MapPost("/api/datasets/{name}/prepare", async (string name, HttpRequest req, DatasetCatalog c, Workspace ws, EventHub hub) =>
        {
            var f = await FormFields.ReadAsync(req);
            var source = c.Get(name, "name");
            var target = Workspace.CheckName(f.Optional("new_name") ?? DatasetCatalog.SuggestName(source.Name + "-prepared"), "new_name");
            if (c.Exists(target) || Directory.Exists(Path.Combine(ws.DatasetsDir, target))) throw StudioError.BadField("new_name", $"a dataset named '{target}' already exists");
            var align = f.Choice("align", ["baseline", "center", "none"], "baseline") switch
            {
                "center" => FramingAlignment.Center,
                "none" => FramingAlignment.None,
                _ => FramingAlignment.Baseline,
            };
            var height = f.OptionalDouble("target_height", 0, 100);
            var size = f.Int("image_size", 8, 1024, 64);
            var output = Path.Combine(ws.DatasetsDir, target);
            var result = await Task.Run(() => DatasetPreparer.Prepare(source.Path, output, new PrepareOptions
            {
                Align = align,
                TargetHeightPercent = height,
                Config = new DataConfig { ImageSize = size },
            }));
            hub.Publish(new DatasetChanged(target));
            return Results.Json(new
            {
                name = target,
                written = result.Written,
                skipped = result.Skipped.Select(s => new { path = s.RelativePath, reason = s.Reason }),
                notAligned = result.NotAligned.Count,
                message = $"wrote {result.Written} picture(s) of {size} px into the new dataset {target}" +
                          (result.Skipped.Count > 0 ? $"; {result.Skipped.Count} skipped" : "") +
                          (result.NotAligned.Count > 0 ? $"; {result.NotAligned.Count} without a plain background copied without aligning" : ""),
            });
        });

        app.MapPost("/api/datasets/glyphs", async (HttpRequest req, DatasetCatalog c, Workspace ws, EventHub hub) =>
        {
            var f = await FormFields.ReadAsync(req);
            // Like adding a folder, the fonts folder is named by its full path and only read; the glyphs go into the workspace.
            var fonts = (f.Optional("fonts") ?? throw StudioError.BadField("fonts", "is empty")).Trim();
            if (fonts.StartsWith("~/", StringComparison.Ordinal))
                fonts = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), fonts[2..]);
            if (!Path.IsPathRooted(fonts) || fonts.Contains('\0')) throw StudioError.BadField("fonts", "must be the full path of a folder of .ttf or .otf fonts, such as /usr/share/fonts");
            fonts = Path.TrimEndingDirectorySeparator(Path.GetFullPath(fonts));
            if (!Directory.Exists(fonts)) throw StudioError.BadField("fonts", $"there is no folder {fonts}");
            if (PathContainment.IsSameOrInside(ws.Root, fonts) || PathContainment.IsSameOrInside(fonts, ws.Root))
                throw StudioError.BadField("fonts", "must be a folder of fonts outside the studio's workspace");
            var chars = f.Optional("chars") ?? throw StudioError.BadField("chars", "is empty: type the characters to draw, such as ABC");
            if (chars.Length > 256) throw StudioError.BadField("chars", "may hold at most 256 characters");
            var size = f.Int("image_size", 8, 1024, 64);
            var target = Workspace.CheckName(f.Optional("name") ?? "glyphs", "name");
            if (c.Exists(target) || Directory.Exists(Path.Combine(ws.DatasetsDir, target))) throw StudioError.BadField("name", $"a dataset named '{target}' already exists");
            var result = await Task.Run(() => GlyphRenderer.RenderFolder(fonts, chars, Path.Combine(ws.DatasetsDir, target), new GlyphOptions { ImageSize = size }));
            hub.Publish(new DatasetChanged(target));
            return Results.Json(new
            {
                name = target,
                written = result.Written,
                fonts = result.Fonts.Count,
                missing = result.FontsMissingGlyphs.Select(m => new { file = m.File, characters = m.MissingCharacters }),
                failed = result.FailedFonts.Select(m => new { file = m.File, error = m.Error }),
                message = $"drew {result.Written} glyph(s) from {result.Fonts.Count} font(s) into the new dataset {target}, one subfolder per character" +
                          (result.FontsMissingGlyphs.Count > 0 ? $"; {result.FontsMissingGlyphs.Count} font(s) lack some characters" : "") +
                          (result.FailedFonts.Count > 0 ? $"; {result.FailedFonts.Count} font file(s) could not be read" : ""),
            });
        });

        app.MapGet("/api/datasets/{name}/report", async (string name, bool? refresh, DatasetCatalog c) =>
        {
            var entry = c.Get(name, "name");
            var report = await c.ReportAsync(entry, refresh == true);
            return Results.Json(ReportView(entry, report));
        });

        app.MapGet("/api/datasets/{name}/file", (string name, string? path, DatasetCatalog c) =>
        {
            var entry = c.Get(name, "name");
            var full = SafePath.Resolve(entry.Path, path, "path");
            if (!File.Exists(full)) throw StudioError.NotFound($"there is no file {path} in {entry.Name}");
            return Results.File(full, ContentType(full));
        });

        app.MapPost("/api/datasets/{name}/remove", async (string name, HttpRequest req, DatasetCatalog c, RunCatalog runs, TrainingQueue queue, EventHub hub) =>
        {
            var f = await FormFields.ReadAsync(req);
            var entry = c.Get(name, "name");
            // Every job in the queue counts, waiting ones included: a queued new run has no config.json yet, only its request.
            foreach (var (run, dataPath) in queue.DataPathsInUse())
                if (PathContainment.IsSame(dataPath, entry.Path))
                    throw StudioError.Conflict($"run '{run}' {(queue.Find(run)?.Phase is JobPhase.Queued ? "is waiting to train" : "is training")} on this dataset; stop it first");
            var message = c.Remove(name, f.Optional("confirm"));
            hub.Publish(new DatasetChanged(name));
            return Results.Json(new { message });
        });
    }

    private static object ReportView(DatasetEntry entry, DatasetReport r)
    {
        var readable = r.Images.Select(i => i.RelativePath).ToHashSet(StringComparer.Ordinal);
        string? Url(string rel) => readable.Contains(rel)
            ? $"/api/datasets/{Uri.EscapeDataString(entry.Name)}/file?path={Uri.EscapeDataString(rel)}" : null;
        return new
        {
            name = entry.Name,
            folder = entry.Path,
            inWorkspace = entry.InWorkspace,
            fileCount = r.FileCount,
            imageFileCount = r.ImageFileCount,
            readable = r.ReadableCount,
            channels = r.ResolvedChannels == ChannelMode.Gray ? "gray" : "colour",
            trainCount = r.TrainCount,
            validationCount = r.ValidationCount,
            formats = r.Formats,
            sizes = r.Sizes.Take(6).ToDictionary(),
            ready = !r.HasFatal,
            flagged = r.FlaggedImages.Count,
            summary = r.Summary(),
            problems = r.Problems.Select(p => new
            {
                severity = p.Severity.ToString().ToLowerInvariant(),
                kind = p.Kind,
                message = p.Message,
                files = p.Files.Take(24).Select(file => new { path = file, url = Url(file) }),
                more = Math.Max(0, p.Files.Count - 24),
            }),
            unreadable = r.Unreadable.Take(100).Select(u => new { path = u.RelativePath, reason = u.Reason }),
            ignored = r.IgnoredFiles.Count,
            samples = r.Images.Take(12).Select(i => Url(i.RelativePath)),
            classes = DetectedClasses(r),
        };
    }

    /// <summary>Class names when every readable picture sits in one of at least two subfolders; otherwise none.</summary>
    internal static string[]? DetectedClasses(DatasetReport r) =>
        ClassLabels.FromSubfolders(r.Images.Select(i => i.RelativePath).ToList(), ClassMode.Auto)?.Names;

    private static string ContentType(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".png" => "image/png",
        ".jpg" or ".jpeg" => "image/jpeg",
        ".webp" => "image/webp",
        ".gif" => "image/gif",
        ".bmp" => "image/bmp",
        _ => "application/octet-stream",
    };

    // ---------------------------------------------------------------- runs and training

    private static void MapRuns(WebApplication app)
    {
        app.MapGet("/api/runs", (RunCatalog runs, TrainingQueue queue) => Results.Json(new { runs = runs.List(), queue = queue.Snapshot() }));

        // The form's fields are read here; what they make is the library's to decide (TrainingConfigResolver), so the
        // studio and `noisette train` refuse the same request with the same sentence. The studio keeps what is its own:
        // the dataset and run names of its workspace, the checkpoint to start from, and the queue.
        app.MapPost("/api/runs", async (HttpRequest req, Workspace ws, DatasetCatalog datasets, RunCatalog runs, TrainingQueue queue, EventHub hub) =>
        {
            var f = await FormFields.ReadAsync(req);
            var dataset = datasets.Get(f.Optional("dataset"), "dataset");
            var length = f.Choice("length", ["steps", "until-stopped"], "steps");
            int total = length == "steps" ? f.OptionalInt("steps") ?? throw StudioError.BadField("steps", "is required (or choose “until I stop”)") : TrainingQueue.UntilStopped;
            var threads = f.OptionalInt("threads", 0, Environment.ProcessorCount);
            var classChoice = f.Optional("classes") is null ? null : f.Choice("classes", ["subfolders", "none"]);
            string? initFrom = null, initNote = null;
            FineTuneSource? source = null;
            if (f.Optional("init_from") is { } sourceName)
            {
                var sourcePath = ws.RunPath(sourceName, "init_from");
                var which = f.Optional("init_step") ?? "latest";
                if (which != "latest" && !long.TryParse(which, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                    throw StudioError.BadField("init_step", $"must be 'latest' or a step number, got '{which}'");
                initFrom = which == "latest" ? sourcePath : new RunFolder(sourcePath).CheckpointDir(long.Parse(which, CultureInfo.InvariantCulture));
                if (which != "latest" && !Directory.Exists(initFrom)) throw StudioError.BadField("init_step", $"run '{sourceName}' has no checkpoint at step {which}");
                try { source = new FineTuneSource(Path.GetFileName(sourcePath), new RunFolder(sourcePath).ReadConfig().Training); }
                catch (NoisetteInputException e) { throw StudioError.BadField("init_from", $"run '{sourceName}' cannot be fine-tuned: {e.Message}"); }
                initNote = $"; the model comes from run '{sourceName}' ({(which == "latest" ? "its latest checkpoint" : "step " + which)}, {StudioPresets.Title(source.Config.Preset)})";
            }
            var request = new TrainingRequest
            {
                DataPath = dataset.Path,
                OutPath = ws.RunsDir,   // the run's own folder once it has a name, below
                Preset = f.Optional("preset"),
                Steps = total,
                CheckpointEvery = f.OptionalInt("checkpoint_every"),
                Batch = f.OptionalInt("batch"),
                Threads = threads,
                LearningRate = f.OptionalDouble("learning_rate"),
                Seed = f.OptionalLong("seed", 0, long.MaxValue),
                Flip = f.Flag("flip") ? true : null,
                InitFrom = initFrom,
                // Without a choice, a fine-tune follows its starting model; a new run learns no classes.
                Classes = classChoice switch { "subfolders" => ClassMode.Subfolders, "none" => ClassMode.None, _ => initFrom is null ? ClassMode.None : ClassMode.Auto },
            };
            var resolution = TrainingConfigResolver.Resolve(request, DataFacts.From(await datasets.ReportAsync(dataset)), source: source);
            if (resolution.Config is not { } config)
                throw new StudioError(StatusCodes.Status400BadRequest, ConfigProblem.Describe(resolution.Problems), resolution.Problems[0].Key);
            var preset = config.Preset;

            var name = f.Optional("name") is { } given ? Workspace.CheckName(given, "name") : NewRunName(ws, queue, dataset.Name, preset);
            var runPath = Path.Combine(ws.RunsDir, name);
            if (Directory.Exists(runPath) || queue.IsBusy(name)) throw StudioError.BadField("name", $"a run named '{name}' already exists");
            var job = new TrainingJob
            {
                Run = name,
                RunPath = runPath,
                Total = total,
                // The preset as resolved, so that the training resolves the same model when its turn comes.
                NewRun = request with { OutPath = runPath, Preset = source is null ? preset : null },
            };
            var message = queue.Enqueue(job);
            hub.Publish(new RunChanged(name));
            return Results.Json(new { run = name, message = message + initNote, queued = message.StartsWith("queued", StringComparison.Ordinal), preset });
        });

        // GET /api/training/defaults?preset=NAME&steps=N: the values and placeholders of the training form, all from the
        // library's defaults (TrainingDefaults, TrainingConfig), so that the page and `noisette train` default alike.
        // preset and steps are optional; checkpoint_every and batch follow them. The keys are the form's field names:
        //   { "preset": "tiny",                     the preset the form starts on (or the one asked for)
        //     "presets": [ { "name": "tiny", "title": "Quick look", "description": "...", "gray": true, "imageSize": 32,
        //                    "defaultBatch": 32, "measuredImagesPerSecond": null }, ... ],
        //     "steps": 10000, "checkpoint_every": 1000, "batch": 32, "learning_rate": 0.0002, "seed": 0, "flip": false }
        // An unknown preset or a step count below 1 is a 400 that names the field.
        app.MapGet("/api/training/defaults", (string? preset, int? steps, RunCatalog runs) =>
        {
            if (preset is not null && Models.ModelPresets.Find(preset) is null) throw StudioError.BadField("preset", Models.ModelPresets.Unknown(preset));
            var d = TrainingDefaults.For(preset ?? TrainingDefaults.Preset, steps ?? TrainingDefaults.Steps);
            if (d.Problems().FirstOrDefault(p => p.Key == "steps") is { } bad) throw new StudioError(StatusCodes.Status400BadRequest, bad.Message, "steps");
            return Results.Json(new
            {
                preset = d.Preset,
                presets = StudioPresets.All(runs.MeasuredSpeeds()),
                steps = d.Steps,
                checkpoint_every = d.CheckpointEvery,
                batch = d.Batch,
                learning_rate = d.LearningRate,
                seed = d.Seed,
                flip = d.Data.FlipAugment,
            });
        });

        app.MapPost("/api/estimate", async (HttpRequest req, TrainingEstimates estimates) =>
        {
            var f = await FormFields.ReadAsync(req);
            var preset = f.Choice("preset", StudioPresets.Names, TrainingDefaults.Preset);
            var batch = f.OptionalInt("batch", 1, 4096) ?? TrainingDefaults.Batch(preset);
            var threads = f.OptionalInt("threads", 0, Environment.ProcessorCount) ?? 0;
            return Results.Json(await estimates.GetAsync(preset, batch, threads, req.HttpContext.RequestAborted));
        });

        app.MapGet("/api/runs/{name}", (string name, Workspace ws, RunCatalog runs, TrainingQueue queue) =>
        {
            var n = Workspace.CheckName(name, "name");
            if (!Directory.Exists(Path.Combine(ws.RunsDir, n)) && !queue.IsBusy(n)) throw StudioError.NotFound($"there is no run named '{n}'");
            return Results.Json(runs.Detail(n));
        });

        app.MapPost("/api/runs/{name}/stop", (string name, TrainingQueue queue, EventHub hub) =>
        {
            var n = Workspace.CheckName(name, "name");
            var message = queue.Stop(n);
            hub.Publish(new RunChanged(n));
            return Results.Json(new { message });
        });

        app.MapPost("/api/runs/{name}/resume", async (string name, HttpRequest req, Workspace ws, RunCatalog runs, TrainingQueue queue, EventHub hub) =>
        {
            var f = await FormFields.ReadAsync(req);
            var path = ws.RunPath(name, "name");
            var n = Path.GetFileName(path);
            var view = runs.Inspect(n);
            if (queue.IsBusy(n)) throw StudioError.Conflict($"run '{n}' is already training or waiting");
            if (RunLock.IsHeld(path)) throw StudioError.Conflict(HeldElsewhere(n));
            if (!view.CanResume) throw StudioError.Conflict($"run '{n}' cannot be resumed: {view.StateText}");
            var steps = f.OptionalInt("steps", 1, 10_000_000);
            long at = view.LatestCheckpoint ?? 0;
            if (steps is { } s && s <= at) throw StudioError.BadField("steps", $"must be above the checkpoint's step {at}, got {s}");
            if (steps is null && view.State == "finished")
                throw StudioError.BadField("steps", $"the run finished at step {at}; give a new total above it to train further");
            var message = queue.Enqueue(new TrainingJob { Run = n, RunPath = path, ResumeSteps = steps, Total = steps ?? (int?)view.Total });
            hub.Publish(new RunChanged(n));
            return Results.Json(new { run = n, message, queued = message.StartsWith("queued", StringComparison.Ordinal) });
        });

        app.MapPost("/api/runs/{name}/remove", async (string name, HttpRequest req, Workspace ws, TrainingQueue queue, EventHub hub) =>
        {
            var f = await FormFields.ReadAsync(req);
            var path = ws.RunPath(name, "name");
            var n = Path.GetFileName(path);
            if (queue.IsBusy(n)) throw StudioError.Conflict($"run '{n}' is training or waiting; stop it first");
            if (RunLock.IsHeld(path)) throw StudioError.Conflict(HeldElsewhere(n));
            if (f.Optional("confirm") != n) throw StudioError.BadField("confirm", $"type the run's name '{n}' to confirm");
            var target = ws.MoveToTrash(path, "run");
            hub.Publish(new RunChanged(n));
            return Results.Json(new { message = $"moved to {target}" });
        });

        app.MapGet("/api/runs/{name}/grid/{step:long}", (string name, long step, Workspace ws) =>
        {
            var run = new Noisette.Runs.RunFolder(ws.RunPath(name, "name"));
            var file = run.SampleGridPath(step);
            if (!File.Exists(file)) throw StudioError.NotFound($"run '{name}' has no sample grid at step {step}");
            return Results.File(file, "image/png");
        });
    }

    private static string HeldElsewhere(string run) =>
        $"run '{run}' is being trained by another process (`noisette train` or `resume` in a terminal, or another studio); stop that first";

    /// <summary>
    /// The class field of a generation: empty (no class), a class name of the run, or "all"; for a model whose
    /// classes have no names (an import), a class index.
    /// </summary>
    private static IReadOnlyList<string> ClassChoice(FormFields f, RunCatalog runs, string run, int count)
    {
        var choice = f.Optional("class");
        if (choice is null) return [];
        var detail = runs.Detail(run);
        if (detail.ClassNames is null && detail.UnnamedClasses is int n)
        {
            if (int.TryParse(choice, NumberStyles.None, CultureInfo.InvariantCulture, out int index) && index < n) return [index.ToString(CultureInfo.InvariantCulture)];
            throw StudioError.BadField("class", $"this model's {n} classes have no names: give a class index from 0 to {n - 1}" +
                                                (n == 1000 ? " (for OpenAI's ImageNet models, the ImageNet class index)" : "") + $", got '{choice}'");
        }
        var names = detail.ClassNames ?? throw StudioError.BadField("class", "this run was trained without classes");
        if (string.Equals(choice, "all", StringComparison.OrdinalIgnoreCase))
        {
            if (names.Count * count > GenerationService.MaxCount)
                throw StudioError.BadField("count", $"{count} pictures for each of {names.Count} classes is more than {GenerationService.MaxCount}");
            return ["all"];
        }
        var match = names.FirstOrDefault(n => string.Equals(n, choice, StringComparison.Ordinal))
                    ?? names.FirstOrDefault(n => string.Equals(n, choice, StringComparison.OrdinalIgnoreCase));
        return match is null ? throw StudioError.BadField("class", $"must be all or one of {string.Join(", ", names)}, got '{choice}'") : [match];
    }

    private static (string Checkpoint, GenerationSettings Settings) EditCommon(FormFields f, string sampler, int steps)
    {
        var checkpoint = f.Optional("checkpoint") ?? "latest";
        if (checkpoint != "latest" && !long.TryParse(checkpoint, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            throw StudioError.BadField("checkpoint", $"must be 'latest' or a step number, got '{checkpoint}'");
        return (checkpoint, new GenerationSettings
        {
            Sampler = f.Choice("sampler", Samplers.Names, sampler), Steps = f.Int("steps", 0, 1000, steps),
            Eta = f.OptionalDouble("eta", 0, 1, minInclusive: true) ?? 0, Seed = f.OptionalLong("seed", 0, long.MaxValue / 2) ?? 0,
            Count = f.Int("count", 1, MaxEditCount, 4),
        });
    }

    private const int MaxEditCount = 16;

    /// <summary>The picture to edit: an uploaded file (field image) or one the run made (field source).</summary>
    private static string EditInput(FormFields f, string runPath)
    {
        var upload = f.Form.Files.GetFile("image");
        var source = f.Optional("source");
        if (upload is not null && source is not null) throw StudioError.BadField("image", "give either a picture to upload or one of the run's pictures, not both");
        if (upload is not null) return EditInputs.SaveUpload(runPath, upload, "image", "input");
        if (source is not null) return EditInputs.Existing(runPath, source, "source");
        throw StudioError.BadField("image", "is required: upload a picture or choose one the run made");
    }

    private static string NewRunName(Workspace ws, TrainingQueue queue, string dataset, string preset)
    {
        var stem = DatasetCatalog.SuggestName($"{dataset}-{preset}");
        if (stem.Length > 56) stem = stem[..56];
        for (int i = 1; ; i++)
        {
            var name = $"{stem}-{i}";
            if (!Directory.Exists(Path.Combine(ws.RunsDir, name)) && !queue.IsBusy(name)) return name;
        }
    }

    // ---------------------------------------------------------------- generation

    private static void MapGeneration(WebApplication app)
    {
        app.MapGet("/api/runs/{name}/gallery", (string name, Workspace ws, GenerationService gen) =>
        {
            var path = ws.RunPath(name, "name");
            return Results.Json(new { batches = gen.Gallery(path), favourites = gen.Favourites(path) });
        });

        app.MapPost("/api/runs/{name}/generate", async (string name, HttpRequest req, Workspace ws, RunCatalog runs, GenerationService gen) =>
        {
            var f = await FormFields.ReadAsync(req);
            var path = ws.RunPath(name, "name");
            var checkpoint = f.Optional("checkpoint") ?? "latest";
            if (checkpoint != "latest" && !long.TryParse(checkpoint, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                throw StudioError.BadField("checkpoint", $"must be 'latest' or a step number, got '{checkpoint}'");
            var sampler = f.Choice("sampler", Samplers.Names, Samplers.Default);
            var steps = f.Int("steps", 0, 1000, 0);
            var eta = f.OptionalDouble("eta", 0, 1, minInclusive: true) ?? 0;
            var seed = f.OptionalLong("seed", 0, long.MaxValue / 2) ?? 0;
            int count;
            if (f.OptionalLong("seed_to", 0, long.MaxValue / 2) is { } to)
            {
                if (to < seed) throw StudioError.BadField("seed_to", $"must not be below the first seed {seed}");
                if (to - seed + 1 > GenerationService.MaxCount) throw StudioError.BadField("seed_to", $"a range holds at most {GenerationService.MaxCount} seeds");
                count = (int)(to - seed + 1);
            }
            else count = f.Int("count", 1, GenerationService.MaxCount, 4);
            var classes = ClassChoice(f, runs, Path.GetFileName(path), count);
            var guidance = f.OptionalDouble("guidance", 0, 20, minInclusive: true);   // unset: the model's default (ModelBundle.DefaultGuidance)
            var settings = new GenerationSettings { Sampler = sampler, Steps = steps, Eta = eta, Seed = seed, Count = count, Classes = classes, Guidance = guidance };
            var batch = await gen.GenerateAsync(path, new GenerateSettings(checkpoint, settings), req.HttpContext.RequestAborted);
            return Results.Json(batch);
        });

        app.MapPost("/api/runs/{name}/edit", async (string name, HttpRequest req, Workspace ws, GenerationService gen) =>
        {
            var f = await FormFields.ReadAsync(req);
            var path = ws.RunPath(name, "name");
            var (checkpoint, settings) = EditCommon(f, "ddim", 0);
            var strength = f.OptionalDouble("strength", 0, 1, minInclusive: true) ?? 0.5;
            var input = EditInput(f, path);
            return Results.Json(await gen.EditAsync(path, new EditSettings(checkpoint, settings, strength), input, req.HttpContext.RequestAborted));
        });

        app.MapPost("/api/runs/{name}/inpaint", async (string name, HttpRequest req, Workspace ws, GenerationService gen) =>
        {
            var f = await FormFields.ReadAsync(req);
            var path = ws.RunPath(name, "name");
            var (checkpoint, settings) = EditCommon(f, "ddpm", 50);
            var jumps = f.Int("jumps", 1, 20, 5);
            var jumpLength = f.Int("jump_length", 1, 100, 5);
            var maskFile = f.Form.Files.GetFile("mask") ?? throw StudioError.BadField("mask", "is required: paint the area to make anew");
            var input = EditInput(f, path);
            var mask = EditInputs.SaveUpload(path, maskFile, "mask", "mask");
            EditInputs.CheckMask(mask, input, "mask");
            return Results.Json(await gen.InpaintAsync(path, new InpaintSettings(checkpoint, settings, jumps, jumpLength),
                                                       input, mask, req.HttpContext.RequestAborted));
        });

        app.MapPost("/api/runs/{name}/variations", async (string name, HttpRequest req, Workspace ws, GenerationService gen) =>
        {
            var f = await FormFields.ReadAsync(req);
            var path = ws.RunPath(name, "name");
            var spread = f.Int("spread", 1, GenerationService.MaxCount / 2, 2);
            return Results.Json(await gen.VariationsAsync(path, f.Optional("favourite"), spread, req.HttpContext.RequestAborted));
        });

        app.MapPost("/api/runs/{name}/unstar", async (string name, HttpRequest req, Workspace ws) =>
        {
            var f = await FormFields.ReadAsync(req);
            var path = ws.RunPath(name, "name");
            var file = SafePath.Resolve(Path.Combine(path, "favourites"), f.Optional("favourite"), "favourite");
            if (!file.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || Path.GetDirectoryName(file) != Path.Combine(path, "favourites"))
                throw StudioError.BadField("favourite", "must be a PNG in the run's favourites");
            if (!File.Exists(file)) throw StudioError.NotFound($"there is no favourite {Path.GetFileName(file)}");
            // The picture stays in generated/; the favourite's copy goes to the trash, never deleted.
            var target = ws.MoveToTrash(file, "favourite");
            return Results.Json(new { message = $"no longer a favourite; the copy went to {target}" });
        });

        app.MapPost("/api/runs/{name}/star", async (string name, HttpRequest req, Workspace ws, GenerationService gen) =>
        {
            var f = await FormFields.ReadAsync(req);
            var path = ws.RunPath(name, "name");
            return Results.Json(gen.Star(path, f.Optional("path")));
        });

        app.MapPost("/api/runs/{name}/regenerate", async (string name, HttpRequest req, Workspace ws, GenerationService gen) =>
        {
            var f = await FormFields.ReadAsync(req);
            var path = ws.RunPath(name, "name");
            return Results.Json(await gen.RegenerateAsync(path, f.Optional("favourite"), req.HttpContext.RequestAborted));
        });

        app.MapGet("/api/runs/{name}/files/{**path}", (string name, string? path, bool? download, Workspace ws) =>
        {
            var runPath = ws.RunPath(name, "name");
            var file = SafePath.Resolve(runPath, path, "path");
            var rel = Path.GetRelativePath(runPath, file).Replace('\\', '/');
            if (!(rel.StartsWith("generated/", StringComparison.Ordinal) || rel.StartsWith("favourites/", StringComparison.Ordinal) ||
                  rel.StartsWith("samples/", StringComparison.Ordinal)) || !file.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
                throw StudioError.BadField("path", "must be a PNG in generated/, favourites/ or samples/");
            if (!File.Exists(file)) throw StudioError.NotFound($"there is no image {rel}");
            return download == true ? Results.File(file, "image/png", Path.GetFileName(file)) : Results.File(file, "image/png");
        });

        app.MapGet("/api/runs/{name}/zip", (string name, string? folder, Workspace ws) =>
        {
            var runPath = ws.RunPath(name, "name");
            var dir = SafePath.Resolve(runPath, folder, "folder");
            var rel = Path.GetRelativePath(runPath, dir).Replace('\\', '/');
            if (!(rel == "favourites" || rel == "generated" || rel.StartsWith("generated/", StringComparison.Ordinal)))
                throw StudioError.BadField("folder", "must be favourites or a folder in generated/");
            if (!Directory.Exists(dir)) throw StudioError.NotFound($"there is no folder {rel}");
            var fileName = $"{Path.GetFileName(runPath)}-{rel.Replace('/', '-')}.zip";
            return Results.File(GenerationService.Zip(dir), "application/zip", fileName);
        });
    }
}
