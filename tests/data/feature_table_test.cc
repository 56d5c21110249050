#include "genre/data/feature_table.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "genre/data/split.h"
#include "genre/error.h"
#include "genre/features/gtzan_vector.h"
#include "genre/model/inputs.h"
#include "support.h"

namespace fs = std::filesystem;

namespace genre {

namespace {

const fs::path kSample = test::DataDir() / "gtzan-table" / "sample.csv";
const fs::path kRows = test::DataDir() / "gtzan-table" / "rows.csv";

std::string Header() {
  std::string h = "filename";
  for (const std::string& c : GtzanColumns()) h += "," + c;
  return h + ",label\n";
}

// A row of 58 values: length, then v, v + 1, ...
std::string Row(const std::string& name, double v, const std::string& label) {
  std::ostringstream s;
  s << name << ",661794";
  for (int i = 0; i < kGtzanFeatureCount; ++i) s << ',' << v + i;
  s << ',' << label << '\n';
  return s.str();
}

std::string BadNumber(std::string row) { return row.replace(row.find(",7,"), 3, ",x,"); }

}  // namespace

TEST_CASE("feature table: the committed sample of the GTZAN table reads whole", "[data][table]") {
  REQUIRE(IsFeatureTable(kSample.string()));
  const FeatureTable t = ReadFeatureTable(kSample.string());
  CHECK(t.problems.empty());
  REQUIRE(t.rows.size() == 92);
  CHECK(t.rows.front().filename == "blues.00003.wav");
  CHECK(t.rows.front().label == "blues");
  CHECK(t.rows.front().line == 2);
  REQUIRE(t.rows.front().values.size() == GtzanColumns().size());
  CHECK(t.rows.front().values[0] == 661794);
  const Dataset d = TableDataset(t);
  CHECK(d.classes.size() == 10);
  REQUIRE(d.tracks.size() == 92);
  const Track& first = d.tracks.front();
  CHECK(first.kind == TrackKind::kFeatures);
  CHECK(first.path == kSample.string() + "#blues.00003.wav");
  CHECK(first.group == "blues.00003");
  CHECK(FileStem(first.path) == "blues.00003");
  CHECK(ModelFeatures(first.features).size() == static_cast<std::size_t>(kGtzanFeatureCount));
}

TEST_CASE("feature table: bad rows reported by line, repeats grouped, bad headers refused", "[data][table][errors]") {
  test::TempDir dir;
  const fs::path p = dir / "t.csv";
  test::WriteBytes(p, Header() + Row("a.00001.wav", 1, "rock") + Row("b.00002.wav", 1, "metal") +
                          "short.wav,1,2,rock\n" + Row("c.00003.wav", 5, "") +
                          BadNumber(Row("d.00004.wav", 7, "rock")) + Row("e.00005.wav", 9, "pop"));
  const FeatureTable t = ReadFeatureTable(p.string());
  REQUIRE(t.rows.size() == 3);
  REQUIRE(t.problems.size() == 3);
  CHECK(t.problems[0] == p.string() + ":4: 4 fields, expected 60 (line skipped)");
  CHECK(t.problems[1] == p.string() + ":5: no label for 'c.00003.wav' (line skipped)");
  CHECK(t.problems[2].find(p.string() + ":6: ") == 0);
  CHECK(t.problems[2].find("not a finite number (line skipped)") != std::string::npos);
  const Dataset d = TableDataset(t);
  REQUIRE(d.tracks.size() == 3);
  // b repeats a's values exactly (GTZAN's repetitions): same group, so never split apart.
  CHECK(d.tracks[1].group == "a.00001");
  CHECK(d.tracks[2].group == "e.00005");
  REQUIRE(d.notes.size() == 4);
  CHECK(d.notes.back() == p.string() +
                              ": 1 rows repeat an earlier row's values exactly and share its group, e.g. "
                              "b.00002.wav = a.00001.wav (labelled rock and metal)");
  SplitOptions so;
  so.valid = 0.3;
  so.test = 0.3;
  Dataset split = d;
  AssignSplits(split, so);
  CHECK(split.tracks[0].split == split.tracks[1].split);

  test::WriteBytes(dir / "wrong.csv", "filename,length,chroma_stft_mean,rms_mean\nx,1,2,3\n");
  CHECK_THROWS_WITH(
      ReadFeatureTable((dir / "wrong.csv").string()),
      (dir / "wrong.csv").string() + ": not a GTZAN feature table: column 4 is 'rms_mean', expected 'chroma_stft_var'");
  test::WriteBytes(dir / "empty.csv", Header());
  CHECK_THROWS_WITH(ReadFeatureTable((dir / "empty.csv").string()), (dir / "empty.csv").string() + ": no usable rows");
  CHECK_THROWS_AS(ReadFeatureTable((dir / "missing.csv").string()), IoError);
  test::WriteBytes(dir / "manifest.csv", "path,label\na.wav,rock\n");
  CHECK_FALSE(IsFeatureTable((dir / "manifest.csv").string()));
}

TEST_CASE("feature tables as dataset sources, also through a manifest of their rows", "[data][table]") {
  test::TempDir dir;
  DatasetOptions o;
  o.sources = {kSample.string()};
  Dataset d = LoadDataset(o);
  REQUIRE(d.tracks.size() == 92);
  // A split list by stem selects table rows ("blues/blues.00003.wav" -> blues.00003).
  test::WriteBytes(dir / "test.txt", "blues/blues.00003.wav\nrock.nope\n");
  CHECK(ApplySplitList(d, ReadSplitList((dir / "test.txt").string()), Split::kTest) == 1);
  CHECK(d.tracks.front().split == Split::kTest);
  // A manifest written from it (what train leaves as split.csv) reads back the same rows.
  WriteManifest((dir / "split.csv").string(), d);
  DatasetOptions m;
  m.sources = {(dir / "split.csv").string()};
  const Dataset back = LoadDataset(m);
  REQUIRE(back.tracks.size() == 92);
  CHECK(back.tracks.front().kind == TrackKind::kFeatures);
  CHECK(back.tracks.front().features == d.tracks.front().features);
  CHECK(back.tracks.front().split == Split::kTest);
  CHECK(back.tracks.front().group == d.tracks.front().group);
  // A manifest naming a row the table lacks: skipped with the reason.
  test::WriteBytes(dir / "bad.csv", "path,label\n" + kSample.string() + "#nope.wav,rock\n" + kSample.string() +
                                        "#blues.00003.wav,blues\n");
  m.sources = {(dir / "bad.csv").string()};
  const Dataset partial = LoadDataset(m);
  REQUIRE(partial.tracks.size() == 1);
  REQUIRE(partial.skipped.size() == 1);
  CHECK(partial.skipped[0].Line() == kSample.string() + "#nope.wav: no row 'nope.wav' in " + kSample.string());
}

TEST_CASE("gtzan input: table rows as they are, audio through the extractor, nothing else", "[data][table]") {
  InputSpec in;
  in.kind = "gtzan";
  CHECK(InputRows(in) == kGtzanFeatureCount);
  CHECK(IsSongVector(in));
  DatasetOptions o;
  o.sources = {kRows.string()};
  const Dataset d = LoadDataset(o);
  REQUIRE(d.tracks.size() == 3);
  const ExampleSet rows = BuildExamples(d, d.classes, in);
  REQUIRE(rows.examples.size() == 3);
  const Matrix& x = rows.examples.front().x;  // blues.00000's row
  REQUIRE(x.rows == 57);
  REQUIRE(x.cols == 1);
  // The same clip from audio: every feature within 0.5 % (the near-zero means: 1e-6 absolute).
  AudioReadOptions read;
  read.sample_rate = kGtzanSampleRate;
  const Matrix a = InputFromAudio(LoadAudio(test::Input("blues.00000.flac").string(), read), in);
  REQUIRE(a.rows == 57);
  for (std::size_t r = 0; r < 57; ++r) {
    INFO(GtzanColumns()[r + 1]);
    CHECK(std::fabs(a(r, 0) - x(r, 0)) <= std::max(0.005 * std::fabs(x(r, 0)), 1e-6));
  }
  InputSpec logmel;
  const ExampleSet refused = BuildExamples(d, d.classes, logmel);
  CHECK(refused.examples.empty());
  REQUIRE(refused.skipped.size() == 3);
  CHECK(refused.skipped[0].reason == "a row of a GTZAN feature table cannot give 'logmel' input");
  Waveform at16k;
  at16k.sample_rate = 16000;
  at16k.samples.assign(32000, 0.0f);
  CHECK_THROWS_WITH(InputFromAudio(at16k, in), "the GTZAN vector needs audio at 22050 Hz, got 16000 Hz");
}

TEST_CASE("one recording through several sources is one group, folds fixed by a file follow it", "[data][split]") {
  test::TempDir dir;
  // A table whose rows metal.00002 and rock.00016 repeat each other (one group), and
  // audio of metal.00002 (a clip) and rock.00016 (an "excerpt") in genre folders.
  test::WriteBytes(dir / "table.csv", Header() + Row("blues.00000.wav", 1, "blues") +
                                          Row("metal.00002.wav", 5, "metal") + Row("rock.00016.wav", 5, "rock") +
                                          Row("jazz.00001.wav", 9, "jazz"));
  fs::create_directories(dir / "clips/metal");
  fs::create_directories(dir / "excerpts/rock");
  fs::create_symlink(test::Input("metal.00002.flac"), dir / "clips/metal/metal.00002.flac");
  fs::create_symlink(test::Input("short_0.3s.wav"), dir / "excerpts/rock/rock.00016.wav");
  DatasetOptions o;
  o.sources = {(dir / "table.csv").string(), (dir / "clips").string(), (dir / "excerpts").string()};
  const Dataset d = LoadDataset(o);
  REQUIRE(d.tracks.size() == 6);
  std::map<std::string, std::string> group;
  for (const Track& t : d.tracks) group[fs::path(t.path).filename().string()] = t.group;
  CHECK(group["table.csv#metal.00002.wav"] == "metal.00002");
  CHECK(group["table.csv#rock.00016.wav"] == "metal.00002");
  CHECK(group["metal.00002.flac"] == "metal.00002");
  CHECK(group["rock.00016.wav"] == "metal.00002");  // the excerpt joins its row's group
  CHECK(group["table.csv#blues.00000.wav"] == "blues.00000");

  // Folds from a fold column: matched by stem, spread over the group, unlisted left out.
  test::WriteBytes(dir / "folds.csv",
                   "path,label,group,split,fold\nx/metal.00002.flac,metal,g,,1\n"
                   "y/blues.00000.wav,blues,g2,,0\n");
  FixedFolds f = FoldsFromFile(d, (dir / "folds.csv").string());
  CHECK(f.k == 2);
  CHECK(f.absent == 1);  // jazz.00001
  for (std::size_t i = 0; i < d.tracks.size(); ++i) {
    INFO(d.tracks[i].path);
    CHECK(f.fold[i] == (d.tracks[i].group == "metal.00002" ? 1 : d.tracks[i].group == "blues.00000" ? 0 : -1));
  }
  // Folds from a split column (published split lists): train, valid, test = 0, 1, 2.
  test::WriteBytes(dir / "lists.csv", "path,split\nrock/rock.00016.wav,test\njazz/jazz.00001.wav,valid\n");
  f = FoldsFromFile(d, (dir / "lists.csv").string());
  CHECK(f.k == 3);
  CHECK(f.absent == 1);  // blues.00000
  CHECK(f.fold[0] == -1);
  for (std::size_t i = 0; i < d.tracks.size(); ++i)
    if (d.tracks[i].group == "metal.00002") CHECK(f.fold[i] == 2);
  // One group in two folds, a bad fold, no fold column: refused with file and line.
  test::WriteBytes(dir / "split.csv", "path,fold\nmetal.00002.flac,0\nrock.00016.wav,1\n");
  CHECK_THAT(test::MessageOf<InputError>([&] { FoldsFromFile(d, (dir / "split.csv").string()); }),
             Catch::Contains("are one group (metal.00002) and cannot be held out apart"));
  test::WriteBytes(dir / "bad.csv", "path,fold\nmetal.00002.flac,two\n");
  CHECK(test::MessageOf<FormatError>([&] { FoldsFromFile(d, (dir / "bad.csv").string()); }) ==
        (dir / "bad.csv").string() + ":2: fold 'two' is not a number in [0, 1000]");
  test::WriteBytes(dir / "none.csv", "path,label\nmetal.00002.flac,metal\n");
  CHECK_THAT(test::MessageOf<FormatError>([&] { FoldsFromFile(d, (dir / "none.csv").string()); }),
             Catch::Contains("needs a header with path and fold (or split) columns"));
}

}  // namespace genre

namespace genre {

TEST_CASE("MSD-convnet tables (Choi et al.'s layout) give msd-convnet input and nothing else", "[data][table]") {
  const std::string path = (test::DataDir() / "msd-convnet" / "published.csv").string();
  REQUIRE(IsFeatureTable(path));
  const FeatureTable t = ReadFeatureTable(path);
  CHECK(t.layout == TableLayout::kMsdConvnet);
  CHECK(FeatureTableLayout(path) == TableLayout::kMsdConvnet);
  CHECK(FeatureTableLayout((test::DataDir() / "gtzan-table" / "sample.csv").string()) == TableLayout::kGtzan);
  REQUIRE(t.rows.size() == 3);
  CHECK(t.rows[0].filename == "blues.00000.wav");
  CHECK(t.rows[0].label == "blues");
  REQUIRE(t.rows[0].values.size() == MsdConvnetColumns().size());
  CHECK(MsdConvnetColumns().size() == kMsdMfccStats + kMsdConvnetFeatures);
  CHECK(MsdConvnetColumns()[0] == "mfcc_mean_0");
  CHECK(MsdConvnetColumns()[kMsdMfccStats] == "elu1_0");
  CHECK(MsdConvnetColumns().back() == "elu5_31");

  const Dataset d = TableDataset(t);
  REQUIRE(d.tracks.size() == 3);
  CHECK(d.tracks[0].group == "blues.00000");
  InputSpec in;
  in.kind = "msd-convnet";
  const ExampleSet ok = BuildExamples(d, d.classes, in);
  REQUIRE(ok.examples.size() == 3);
  REQUIRE(ok.examples[0].x.rows == 160);
  REQUIRE(ok.examples[0].x.cols == 1);
  CHECK(ok.examples[0].x(0, 0) == static_cast<float>(t.rows[0].values[kMsdMfccStats]));
  CHECK(ok.examples[0].x(159, 0) == static_cast<float>(t.rows[0].values.back()));
  InputSpec gtzan;
  gtzan.kind = "gtzan";
  const ExampleSet refused = BuildExamples(d, d.classes, gtzan);
  CHECK(refused.examples.empty());
  CHECK(refused.skipped.at(0).reason == "a row of an MSD-convnet feature table cannot give 'gtzan' input");
  // Audio needs the backbone: the library alone refuses, a from_audio hook serves it.
  Waveform w;
  w.sample_rate = 12000;
  w.samples.assign(24000, 0.0f);
  CHECK_THROWS_AS(InputFromAudio(w, in), InputError);

  test::TempDir dir;
  std::string text = test::ReadBytes(path);
  text.replace(text.find("elu3_7"), 6, "elu3_x");
  test::WriteBytes(dir / "bad.csv", text);
  CHECK_THAT(test::MessageOf<FormatError>([&] { ReadFeatureTable((dir / "bad.csv").string()); }),
             Catch::Contains("not an MSD-convnet feature table: column ") &&
                 Catch::Contains("is 'elu3_x', expected 'elu3_7'"));
}

TEST_CASE("joined tables (MSD convnet + GTZAN) give msd-convnet+gtzan input and nothing else", "[data][table]") {
  // joined.csv = scripts/join_tables.sh msd-convnet/published.csv gtzan-table/rows.csv
  const std::string path = (test::DataDir() / "msd-convnet" / "joined.csv").string();
  const FeatureTable msd = ReadFeatureTable((test::DataDir() / "msd-convnet" / "published.csv").string());
  const FeatureTable gtzan = ReadFeatureTable(kRows.string());
  REQUIRE(FeatureTableLayout(path) == TableLayout::kMsdConvnetGtzan);
  const FeatureTable t = ReadFeatureTable(path);
  CHECK(t.layout == TableLayout::kMsdConvnetGtzan);
  REQUIRE(t.rows.size() == 3);
  REQUIRE(t.rows[1].values.size() == MsdConvnetColumns().size() + GtzanColumns().size());
  CHECK(t.rows[1].filename == "classical.00001.wav");
  CHECK(t.rows[1].label == "classical");

  const Dataset d = TableDataset(t);
  InputSpec in;
  in.kind = "msd-convnet+gtzan";
  CHECK(InputRows(in) == kMsdConvnetFeatures + kGtzanFeatureCount);
  CHECK(IsSongVector(in));
  const ExampleSet ok = BuildExamples(d, d.classes, in);
  REQUIRE(ok.examples.size() == 3);
  const Matrix& x = ok.examples[1].x;
  REQUIRE(x.rows == 217);
  REQUIRE(x.cols == 1);
  // The convnet's 160 features of the MSD row, then the GTZAN row's 57 (length dropped).
  const std::vector<float> convnet = ConvnetFeatures(msd.rows[1].values), vector = ModelFeatures(gtzan.rows[1].values);
  for (std::size_t i = 0; i < 160; ++i) CHECK(x(i, 0) == convnet[i]);
  for (std::size_t i = 0; i < 57; ++i) CHECK(x(160 + i, 0) == vector[i]);
  for (const char* kind : {"msd-convnet", "gtzan"}) {
    InputSpec other;
    other.kind = kind;
    const ExampleSet refused = BuildExamples(d, d.classes, other);
    CHECK(refused.examples.empty());
    CHECK(refused.skipped.at(0).reason ==
          "a row of a joined MSD-convnet + GTZAN feature table cannot give '" + std::string(kind) + "' input");
  }
  Waveform w;
  w.sample_rate = 22050;
  w.samples.assign(44100, 0.0f);
  CHECK_THAT(test::MessageOf<InputError>([&] { InputFromAudio(w, in); }), Catch::Contains("joined feature tables"));

  test::TempDir dir;
  std::string text = test::ReadBytes(path);
  text.replace(text.find("spectral_centroid_var"), 21, "spectral_centroid_vaX");
  test::WriteBytes(dir / "bad.csv", text);
  CHECK_THAT(test::MessageOf<FormatError>([&] { ReadFeatureTable((dir / "bad.csv").string()); }),
             Catch::Contains("not a joined MSD-convnet + GTZAN feature table: column ") &&
                 Catch::Contains("is 'spectral_centroid_vaX', expected 'spectral_centroid_var'"));
}

}  // namespace genre
